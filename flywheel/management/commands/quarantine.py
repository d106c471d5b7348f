from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand
from flywheel.models import Quarantine


class Command(FlywheelCommand):
    help = "List quarantined records of a project: where they were and why (never their content)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True)
        parser.add_argument("--limit", type=int, default=50)

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        rows = Quarantine.objects.filter(project=project).select_related("source")[: options["limit"]]
        for row in rows:
            self.stdout.write(f"{row.location}\t{row.record_kind}\t{row.external_id or '-'}\t{row.reason}")
        self.stdout.write(f"{Quarantine.objects.filter(project=project).count()} quarantined record(s)")
