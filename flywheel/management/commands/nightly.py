from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from flywheel.errors import NotFound
from flywheel.management.base import FlywheelCommand
from flywheel.models import Project
from flywheel.services.nightly import nightly_run

NO_PROJECT = "No project named '{name}'."
NO_PROJECT_HINT = "Known projects: {known}."


class Command(FlywheelCommand):
    help = (
        "The nightly flywheel: sync, cluster, create tasks, export a release, train, write labels back. "
        "Safe to re-run: a run that failed or crashed continues at the step that broke."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", help="One project (default: every project, one after the other).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what each step would do; write nothing."
        )
        parser.add_argument(
            "--fresh", action="store_true", help="Start a new run instead of resuming a failed one."
        )

    def run(self, *args: Any, **options: Any) -> None:
        if options.get("project"):
            project = Project.objects.filter(name=options["project"]).first()
            if project is None:
                known = ", ".join(Project.objects.values_list("name", flat=True)) or "none"
                raise NotFound(
                    NO_PROJECT.format(name=options["project"]), hint=NO_PROJECT_HINT.format(known=known)
                )
            projects = [project]
        else:
            projects = list(Project.objects.order_by("name"))
        exit_code = 0
        last = ""
        for project in projects:
            result = nightly_run(
                project=project,
                dry_run=options["dry_run"],
                fresh=options["fresh"],
                progress=self.progress_enabled(options),
                traceback=bool(options.get("traceback")),
            )
            if result.resumed:
                self.stdout.write(f"Resumed run #{result.run.pk} at: {', '.join(result.resumed)}")
            self.stdout.write(result.run.summary_text)
            exit_code = exit_code or result.exit_code
            last = result.reason
        if last:
            # The last line says what failed (or that all went well): what an on-call engineer reads first.
            (self.stderr if exit_code else self.stdout).write(last)
        if exit_code:
            sys.exit(exit_code)
