from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from annotate.models import SOP, LabelingPolicy, Membership, Role, Task
from annotate.services.review import review_discard
from annotate.services.sops import sop_bootstrap, sop_current
from fixtures.demo_labels import demo_annotate, demo_review
from fixtures.demo_traces import write_jsonl
from flywheel.errors import ConfigError
from flywheel.ingest.importing import import_traces
from flywheel.ingest.runs import summary_line
from flywheel.management.base import FlywheelCommand
from flywheel.models import FlywheelPolicy, Project, Release, ScoreWrite, TraceSource, TrainingRun
from flywheel.rules import load_rules
from flywheel.services.nightly import nightly_run
from flywheel.services.rules import rules_replace

DEMO_PROJECT = "acme-support"
# Demo logins: printed by `make demo`, refused outside DEBUG (see run()).
DEMO_USERS = [
    ("admin", "admin-demo-2026", Role.ADMIN, True),
    ("lead", "lead-demo-2026", Role.LEAD, False),
    ("annotator1", "annotator1-demo-2026", Role.ANNOTATOR, False),
    ("annotator2", "annotator2-demo-2026", Role.ANNOTATOR, False),
]
DEMO_SECRET_ENV = "DEMO_LANGFUSE_SECRET_KEY"  # noqa: S105 (the name of a variable, not a secret)
NOT_IN_PRODUCTION = "demo_setup creates users with published passwords; it runs only with DEBUG=1."
NO_SECRET = f"--langfuse-url needs the stand-in's secret key in the environment variable {DEMO_SECRET_ENV}."


class Command(FlywheelCommand):
    help = (
        "The demo: project, users, synthetic traces (fake PII), and one full loop of the flywheel. "
        "With --langfuse-url (a running stand-in, as `make demo` starts it): nightly #1 syncs the "
        "traces through the Langfuse API, clusters them and creates tasks; the demo annotators label "
        "and the demo lead reviews; nightly #2 exports a release, trains the tiny model on it and "
        "writes the labels back to the stand-in as scores. Without it, traces come from a file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--count", type=int, default=300, help="How many synthetic traces.")
        parser.add_argument("--langfuse-url", help="A Langfuse stand-in serving the demo traces.")
        parser.add_argument("--public-key", default="pk-lf-demo")
        parser.add_argument("--no-loop", action="store_true", help="Stop after the first nightly run.")

    def run(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise ConfigError(NOT_IN_PRODUCTION, hint="Run it as DEBUG=1 python manage.py demo_setup.")
        project = self._project()
        users = self._users(project)
        rules = load_rules((Path(settings.BASE_DIR) / "fixtures" / "demo_rules.yaml").read_text())
        rules_replace(project=project, ruleset=rules)
        if not SOP.objects.filter(project=project).exists():
            sop_bootstrap(project=project, user=users["lead"])
        if options.get("langfuse_url"):
            self._langfuse_source(project, options["langfuse_url"], options["public_key"])
        else:
            self._import_file(project, options)
        self._policy(project)
        progress = self.progress_enabled(options)

        self.stdout.write("\n== Nightly run #1: sync, cluster, tasks ==")
        self._nightly(project, progress)
        if options["no_loop"]:
            return self._logins()
        self.stdout.write("\n== The demo annotators label, the demo lead reviews ==")
        submitted = demo_annotate(project=project, annotators=[users["annotator1"], users["annotator2"]])
        reviewed = demo_review(project=project, lead=users["lead"])
        self.stdout.write(
            f"{submitted} labels submitted through the queue; {reviewed['disagreements_settled']} "
            f"disagreements settled by the lead, {reviewed['accepted_in_bulk']} labels accepted in bulk"
        )
        self.stdout.write("\n== Nightly run #2: release, train, write back ==")
        if not self._nightly(project, progress):
            self._pii_flagged(project, users["lead"], progress)
        self._where_to_look(project, options.get("langfuse_url"))
        self._logins()

    def _project(self) -> Project:
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
        # Overlap on 40 % of the tasks, so the agreement statistics and the release gate have data.
        LabelingPolicy.objects.update_or_create(
            project=project, defaults={"overlap_share": 0.4, "gold_rate": 0.0, "review_sample_rate": 0.2}
        )
        return project

    def _users(self, project: Project) -> dict[str, Any]:
        user_model = get_user_model()
        users = {}
        for username, password, role, superuser in DEMO_USERS:
            user = user_model.objects.filter(username=username).first() or user_model(username=username)
            user.is_staff = user.is_superuser = superuser
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
            users[username] = user
        return users

    def _langfuse_source(self, project: Project, url: str, public_key: str) -> TraceSource:
        if not os.environ.get(DEMO_SECRET_ENV):
            raise ConfigError(NO_SECRET)
        source, _ = TraceSource.objects.update_or_create(
            name="acme-langfuse",
            defaults={
                "project": project,
                "kind": TraceSource.Kind.LANGFUSE,
                "base_url": url,
                "public_key": public_key,
                "secret_key_env": DEMO_SECRET_ENV,
                "initial_since": datetime(2026, 10, 31, tzinfo=UTC),
                "window_hours": 24 * 7,
            },
        )
        # The stand-in keeps nothing between runs: forget what an earlier demo wrote to it.
        ScoreWrite.objects.filter(source=source).delete()
        return source

    def _import_file(self, project: Project, options: dict[str, Any]) -> None:
        # Three weeks of traffic, so the cluster pages have a trend to show.
        spacing = 21 * 24 * 3600 / max(options["count"], 1)
        path = write_jsonl(
            Path(settings.DATA_DIR) / "demo" / "traces.jsonl", options["count"], spacing=spacing
        )
        run = import_traces(project=project, paths=[path], progress=self.progress_enabled(options))
        self.stdout.write(summary_line(run))

    def _policy(self, project: Project) -> None:
        from training.tiny import build_tiny_model

        model_dir = Path(settings.DATA_DIR) / "demo" / "tiny-model"
        if not (model_dir / "config.json").is_file():
            build_tiny_model(model_dir)
        writeback = project.sources.filter(kind=TraceSource.Kind.LANGFUSE).first()
        # Demo scale: tens of labels, not the production minimum of 500 (the release says so in
        # its manifest, and the training report warns about it).
        FlywheelPolicy.objects.update_or_create(
            project=project,
            defaults={
                "min_release_samples": 20,
                "min_new_labels": 20,
                "agreement_field": "sample_type",
                "min_alpha": 0.5,
                "min_overlap_items": 10,
                "tasks_per_new_cluster": 40,
                "training_mode": FlywheelPolicy.TrainingMode.IN_PROCESS,
                "training_method": FlywheelPolicy.Method.SFT,
                "training_config": "training/configs/tiny-cpu.yaml",
                "training_overrides": {"base_model": str(model_dir)},
                "writeback_enabled": True,
                "writeback_source": writeback,
            },
        )

    def _nightly(self, project: Project, progress: bool, *, fresh: bool = True) -> bool:
        result = nightly_run(project=project, fresh=fresh, progress=progress)
        self.stdout.write(result.run.summary_text)
        if result.exit_code:
            self.stderr.write(result.reason)
        return not result.exit_code

    def _pii_flagged(self, project: Project, lead: Any, progress: bool) -> None:
        """The export's PII gate sent items back to review (names the small spaCy model missed at
        ingest); the demo lead discards them, and the nightly run resumes at the release step."""
        flagged = Task.objects.filter(
            project=project, review=Task.Review.PENDING, review_note__contains="PII gate"
        )
        if not flagged.exists():
            return
        for task in flagged:
            review_discard(
                project=project, task_id=task.pk, reviewer=lead, comment="demo lead: personal data"
            )
        self.stdout.write(
            f"\n== The PII gate sent {flagged.count()} item(s) back; the demo lead discards them; "
            "the nightly run resumes at the release =="
        )
        self._nightly(project, progress, fresh=False)

    def _where_to_look(self, project: Project, langfuse_url: str | None) -> None:
        base = "http://127.0.0.1:8000"
        release = Release.objects.filter(project=project).first()
        run = TrainingRun.objects.filter(project=project).first()
        self.stdout.write("\n== Where to look ==")
        self.stdout.write(f"  SOP v{sop_current(project).version}: {base}/projects/{project.pk}/sop/")
        self.stdout.write(f"  Clusters:        {base}/projects/{project.pk}/clusters/")
        self.stdout.write(f"  Review queue:    {base}/projects/{project.pk}/review/")
        self.stdout.write(f"  Agreement:       {base}/projects/{project.pk}/agreement/")
        if release is not None:
            self.stdout.write(f"  Release:         {base}/projects/{project.pk}/releases/{release.number}/")
        if run is not None:
            self.stdout.write(f"  Training run:    {base}/projects/{project.pk}/training-runs/{run.pk}/")
        self.stdout.write(f"  Nightly runs:    {base}/projects/{project.pk}/nightly/")
        if langfuse_url:
            demo_key = os.environ.get(DEMO_SECRET_ENV, "")  # the stand-in's throwaway demo key
            self.stdout.write(
                f"  Scores in the Langfuse stand-in: curl -u pk-lf-demo:{demo_key} "
                f"'{langfuse_url}/api/public/v3/scores?limit=100'"
            )

    def _logins(self) -> None:
        self.stdout.write("\nDemo logins (http://127.0.0.1:8000):")
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role.label:<10} {username:<12} password: {password}")
