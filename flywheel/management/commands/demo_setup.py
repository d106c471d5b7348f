from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from annotate.models import Membership, Role
from fixtures.demo_traces import write_jsonl
from flywheel.errors import ConfigError
from flywheel.ingest.importing import import_traces
from flywheel.ingest.runs import summary_line
from flywheel.management.base import FlywheelCommand
from flywheel.models import Project

DEMO_PROJECT = "acme-support"
# Demo logins: printed by `make demo`, refused outside DEBUG (see run()).
DEMO_USERS = [
    ("admin", "admin-demo-2026", Role.ADMIN, True),
    ("lead", "lead-demo-2026", Role.LEAD, False),
    ("annotator1", "annotator1-demo-2026", Role.ANNOTATOR, False),
    ("annotator2", "annotator2-demo-2026", Role.ANNOTATOR, False),
]
NOT_IN_PRODUCTION = "demo_setup creates users with published passwords; it runs only with DEBUG=1."


class Command(FlywheelCommand):
    help = "Create the demo project and users, generate synthetic traces (fake PII) and import them."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--count", type=int, default=300, help="How many synthetic traces.")

    def run(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise ConfigError(NOT_IN_PRODUCTION, hint="Run it as DEBUG=1 python manage.py demo_setup.")
        project, _ = Project.objects.get_or_create(
            name=DEMO_PROJECT,
            defaults={
                "description": "Acme's shop support assistant (synthetic demo data).",
                # The shop's own name is not PII; spaCy's small model takes it for a person.
                "pii_allow_list": ["Acme", "Acme's"],
            },
        )
        user_model = get_user_model()
        for username, password, role, superuser in DEMO_USERS:
            user = user_model.objects.filter(username=username).first() or user_model(username=username)
            user.is_staff = user.is_superuser = superuser
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
        path = write_jsonl(Path(settings.DATA_DIR) / "demo" / "traces.jsonl", options["count"])
        run = import_traces(project=project, paths=[path], progress=self.progress_enabled(options))
        self.stdout.write(summary_line(run))
        self.stdout.write("\nDemo logins (http://127.0.0.1:8000):")
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role.label:<10} {username:<12} password: {password}")
