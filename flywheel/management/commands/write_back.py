from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flywheel.errors import InvalidInput
from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand
from flywheel.services.writeback import scores_write_back

REFUSED = "Langfuse refused {n} score(s); they are not recorded and the next run sends them again."
REFUSED_HINT = "The reasons are listed above; see docs/writeback.md for what each score must look like."


class Command(FlywheelCommand):
    help = (
        "Write final labels, corrections and cluster membership back to Langfuse as scores. "
        "Idempotent: unchanged scores are not re-sent, ids are deterministic, an interrupted run "
        "continues where it stopped."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True, help="Name of the project.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be sent or retracted; send nothing."
        )

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        result = scores_write_back(
            project=project, progress=self.progress_enabled(options), dry_run=options["dry_run"]
        )
        self.stdout.write(result.summary())
        for line in result.failures:
            self.stderr.write(f"refused: {line}")
        if result.failed:
            raise InvalidInput(REFUSED.format(n=result.failed), hint=REFUSED_HINT)
