from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flywheel.ingest.importing import import_traces, resolve_project
from flywheel.ingest.runs import summary_line
from flywheel.management.base import FlywheelCommand


class Command(FlywheelCommand):
    help = (
        "Import Langfuse export files (UI exports as JSON/JSONL/CSV, download-trace JSON, blob-storage "
        "exports as .jsonl[.gz]/.csv[.gz]/.parquet); scrub PII; store them. Bad records are quarantined."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--project", required=True)
        parser.add_argument("--create-project", action="store_true", help="Create the project if it is new.")

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=options["create_project"])
        run = import_traces(project=project, paths=options["paths"], progress=self.progress_enabled(options))
        self.stdout.write(summary_line(run))
        if run.quarantined:
            self.stdout.write(
                f"{run.quarantined} record(s) quarantined: see Admin > Quarantine, or `manage.py quarantine "
                f"--project {project.name}`."
            )
