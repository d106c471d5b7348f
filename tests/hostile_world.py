"""A project where every URL parameter resolves to a real object, for the access matrix, CSRF and fuzz tests.

Built with the services production uses (the real queue, review settle, release publish, training
register, augment run), with the fast fakes the other tests use for the heavy collaborators
(``FakeScrubber`` for Presidio, ``HashingEmbedder`` for MiniLM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from django.conf import settings

from annotate.augment.recipe import parse_recipe
from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN
from annotate.models import SOP, Annotation, Assignment, AugmentRun, LabelingPolicy, Role, Sample, Task
from annotate.services import queue
from annotate.services.sops import sop_bootstrap, sop_publish, sop_save_draft
from flywheel.cluster.embedding import HashingEmbedder
from flywheel.models import (
    Cluster,
    Failure,
    FailureRule,
    FlywheelPolicy,
    NightlyRun,
    Project,
    Release,
    Trace,
    TrainingRun,
)
from flywheel.pii import FakeScrubber, ScrubConfig
from tests.annotate.conftest import GOOD
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, UserFactory, member
from tests.flywheel.export.seed import seed_samples

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")
RECIPE = "name: tones\nseed: 1\nselect: {limit: 3}\nvariants: [{transform: tone, count: 2}]"
FAKE_NAMES = ("Ada Lovelace", "Grace Hopper")


@dataclass
class World:
    project: Project
    other: Project
    users: dict[str, Any]
    trace: Trace
    cluster: Cluster
    rule: FailureRule
    leased: Assignment  # the annotator's open lease
    pending: Task  # waits for a lead (one annotation)
    pending_annotation: Annotation
    final: Task  # consensus reached: a final sample
    draft: SOP  # an unpublished SOP version
    release: Release
    training_run: TrainingRun
    nightly_run: NightlyRun
    augment_run: AugmentRun
    proposed: list[Sample] = field(default_factory=list)

    def ids(self) -> dict[str, Any]:
        """The value of every URL parameter name, for reversing each pattern."""
        return {
            "project_id": self.project.pk,
            "trace_id": self.trace.pk,
            "number": self.cluster.number,
            "rule_id": self.rule.pk,
            "assignment_id": self.leased.pk,
            "task_id": self.pending.pk,
            "version": self.draft.version,
            "old": 1,
            "new": 2,
            "run_id": self.augment_run.pk,
            "sample_id": self.proposed[0].pk,
            "name": "metrics.json",
        }


def fake_scrubber(config: ScrubConfig | None = None) -> FakeScrubber:
    return FakeScrubber(config or ScrubConfig(), key=settings.PII_HASH_KEY.encode(), names=FAKE_NAMES)


def use_fast_fakes(monkeypatch: Any) -> HashingEmbedder:
    """The services' heavy collaborators (Presidio, MiniLM) swapped for the fakes, as in the augment tests."""
    from annotate.services import augment, augment_generate
    from annotate.services.augment_build import variant_scrub_config
    from flywheel.services import export

    hashing = HashingEmbedder(256)
    for module in (augment, augment_generate):
        monkeypatch.setattr(
            module, "variant_scrubber", lambda project: fake_scrubber(variant_scrub_config(project))
        )
        monkeypatch.setattr(module, "default_embedder", lambda: hashing)
    if hasattr(export, "default_embedder"):
        monkeypatch.setattr(export, "default_embedder", lambda: hashing)
    return hashing


def _task(project: Project, cluster: Cluster, *, required: int, priority: float, text: str) -> Task:
    source = project.sources.first() or SourceFactory(project=project)
    trace = TraceFactory(
        source=source,
        conversation=[{"role": "user", "content": text}, {"role": "assistant", "content": "On its way."}],
    )
    failure = Failure.objects.create(project=project, trace=trace, rules=["thumbs-down"], cluster=cluster)
    return Task.objects.create(
        project=project,
        trace=trace,
        failure=failure,
        cluster=cluster,
        model_answer="On its way.",
        required_annotations=required,
        priority=priority,
    )


def _label(project: Project, user: Any, values: dict[str, Any] = GOOD) -> Annotation:
    lease = queue.next_task(project=project, user=user)
    assert lease is not None, f"{user} got no task"
    return queue.submit(assignment_id=lease.pk, user=user, values=values, seconds_spent=9)


def build_world(data_dir: Path, hashing: HashingEmbedder) -> World:
    """Everything a URL can name. ``data_dir`` is where the release and the training run go."""
    from flywheel.services.export import release_publish
    from flywheel.services.training import training_register
    from tests.flywheel.training_run_factory import write_run_dir

    project = cast(Project, ProjectFactory(name="acme"))
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    sop_publish(
        sop=sop_save_draft(
            project=project, body=DEFAULT_SOP_MARKDOWN + "\n", label_schema=DEFAULT_SCHEMA_YAML, user=lead
        )
    )
    FlywheelPolicy.objects.create(project=project, min_release_samples=30)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0, review_sample_rate=1.0)
    annotator = member(project, Role.ANNOTATOR, username="ann")
    second = member(project, Role.ANNOTATOR, username="ann2")
    other = cast(Project, ProjectFactory(name="elsewhere"))
    users = {
        "anonymous": None,
        "outsider": member(other, Role.ANNOTATOR, username="outsider"),
        "annotator": annotator,
        "lead": lead,
        "admin": UserFactory(username="admin", is_superuser=True, is_staff=True),
    }
    cluster = Cluster.objects.create(project=project, number=7, name="late · order", occurrences=3)
    rule = FailureRule.objects.create(project=project, name="thumbs-down", definition={"tag": "thumbs-down"})
    final = _task(project, cluster, required=2, priority=3.0, text="Where is my order A100?")
    pending = _task(project, cluster, required=1, priority=2.0, text="Where is my order A200?")
    _task(project, cluster, required=1, priority=1.0, text="Where is my order A300?")
    _label(project, annotator)  # final, 1 of 2
    _label(project, second)  # final, 2 of 2: consensus
    pending_annotation = _label(project, second)  # pending: one label, waits for a lead
    leased = queue.next_task(project=project, user=annotator)
    assert leased is not None and final.samples.filter(status=Sample.Status.FINAL).exists()
    draft = sop_save_draft(
        project=project, body=DEFAULT_SOP_MARKDOWN, label_schema=DEFAULT_SCHEMA_YAML, user=lead
    )

    seed_samples(project, 36)
    release = release_publish(
        project=project, user=lead, out_dir=data_dir / "releases", scrubber=fake_scrubber(), embedder=hashing
    ).release
    run_dir = write_run_dir(data_dir / "runs" / "run-1", Path(release.path))
    training_run = training_register(run_dir=run_dir, project=project)
    nightly_run = NightlyRun.objects.create(project=project, status=NightlyRun.Status.SUCCEEDED, steps={})
    augment_run = _augment(project, lead, hashing)
    proposed = list(
        Sample.objects.filter(augment_run=augment_run, status=Sample.Status.PROPOSED).order_by("pk")
    )
    assert len(proposed) >= 2, augment_run.counts
    return World(
        project=project,
        other=other,
        users=users,
        trace=pending.trace,
        cluster=cluster,
        rule=rule,
        leased=leased,
        pending=Task.objects.get(pk=pending.pk),
        pending_annotation=pending_annotation,
        final=Task.objects.get(pk=final.pk),
        draft=draft,
        release=release,
        training_run=training_run,
        nightly_run=nightly_run,
        augment_run=augment_run,
        proposed=proposed,
    )


def _augment(project: Project, lead: Any, hashing: HashingEmbedder) -> AugmentRun:
    from annotate.services.augment import augment_run
    from annotate.services.augment_build import variant_scrub_config

    return augment_run(
        project=project,
        recipe=parse_recipe(RECIPE),
        user=lead,
        scrubber=fake_scrubber(variant_scrub_config(project)),
        embedder=hashing,
    )
