from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from annotate.models import SOP, Membership, Role
from annotate.services.sops import sop_bootstrap, sop_current
from annotate.services.tasks import tasks_create
from fixtures.demo_traces import write_jsonl
from flywheel.errors import ConfigError
from flywheel.ingest.importing import import_traces
from flywheel.ingest.runs import summary_line
from flywheel.management.base import FlywheelCommand
from flywheel.models import Project
from flywheel.rules import load_rules
from flywheel.services.embedding import default_embedder
from flywheel.services.pipeline import failures_pipeline
from flywheel.services.rules import rules_replace

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
                "pii_allow_list": ["Acme", "Acme's", "JSON"],
                # A few hundred demo failures: smaller clusters than the production default.
                "cluster_params": {"min_cluster_size": 5, "min_samples": 3},
            },
        )
        user_model = get_user_model()
        for username, password, role, superuser in DEMO_USERS:
            user = user_model.objects.filter(username=username).first() or user_model(username=username)
            user.is_staff = user.is_superuser = superuser
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
        # Three weeks of traffic, so the cluster pages have a trend to show.
        spacing = 21 * 24 * 3600 / max(options["count"], 1)
        path = write_jsonl(
            Path(settings.DATA_DIR) / "demo" / "traces.jsonl", options["count"], spacing=spacing
        )
        run = import_traces(project=project, paths=[path], progress=self.progress_enabled(options))
        self.stdout.write(summary_line(run))
        rules = load_rules((Path(settings.BASE_DIR) / "fixtures" / "demo_rules.yaml").read_text())
        rules_replace(project=project, ruleset=rules)
        outcome = failures_pipeline(project=project, embedder=default_embedder(), full=True)
        self.stdout.write(outcome.summary())
        lead = user_model.objects.get(username="lead")
        if not SOP.objects.filter(project=project).exists():
            sop_bootstrap(project=project, user=lead)
        created = tasks_create(project=project, user=lead, all_new=True)
        self.stdout.write(f"SOP v{sop_current(project).version} published; {created} labeling tasks created")
        self.stdout.write("\nDemo logins (http://127.0.0.1:8000):")
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role.label:<10} {username:<12} password: {password}")
