from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandParser

from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand
from flywheel.paths import plain_path
from flywheel.services.training import training_register
from flywheel.training_runs.rundir import STALE_AFTER
from flywheel.training_runs.summary import summary_text


class Command(FlywheelCommand):
    help = (
        "Record (or update) the training run in DIR, a run directory written by python -m training: its "
        "release, config, status, metrics and gate verdict. Safe to repeat."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("dir", metavar="DIR", help="The run directory (python -m training --output).")
        parser.add_argument(
            "--project", help="Project name; needed only when the run's release is not known to this service."
        )
        parser.add_argument(
            "--stale-minutes",
            type=float,
            default=STALE_AFTER.total_seconds() / 60,
            help="An unfinished run whose heartbeat is older than this many minutes counts as failed "
            "(default %(default)g).",
        )

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False) if options.get("project") else None
        run = training_register(
            run_dir=plain_path(options["dir"], what="run directory"),
            project=project,
            stale_after=timedelta(minutes=options["stale_minutes"]),
        )
        self.stdout.write(
            summary_text(
                run_dir=run.run_dir,
                status=run.status,
                release=run.release_name,
                method=run.method,
                project=run.project.name,
                metrics=run.metrics,
                gate=run.gate,
                promoted=run.promoted,
                error=run.error,
            )
        )
