from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand
from flywheel.paths import output_file
from flywheel.services.embedding import default_embedder
from flywheel.services.pipeline import export_assignments, failures_pipeline


class Command(FlywheelCommand):
    help = (
        "Evaluate the project's failure rules, embed and de-duplicate the failures, and cluster them "
        "(a full re-cluster with --full or when one is due; otherwise assign new failures incrementally)."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True)
        parser.add_argument("--full", action="store_true", help="Re-cluster everything now.")
        parser.add_argument(
            "--export-assignments", metavar="FILE.csv", help="Write one row per flagged trace."
        )

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        out = options.get("export_assignments")
        path = output_file(out, what="--export-assignments file") if out else None  # checked before the work
        outcome = failures_pipeline(
            project=project,
            embedder=default_embedder(),
            full=True if options["full"] else None,
            progress=self.progress_enabled(options),
        )
        self.stdout.write(outcome.summary())
        if path is not None:
            rows = export_assignments(project=project, path=path)
            self.stdout.write(f"{rows} assignments written to {path}")
