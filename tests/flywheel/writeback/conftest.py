"""Fixtures of the write-back tests: a stand-in Langfuse, a project whose source points at it,
and final labels made with the ORM (what the review service leaves behind)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from django.utils import timezone

from annotate.models import Role, Sample, Task
from annotate.review.content import content_hash
from annotate.services.sops import sop_bootstrap
from flywheel.models import Cluster, Failure, Observation, Project, Trace, TraceSource
from flywheel.standin import LangfuseStandin
from flywheel.writeback import ScoreWriter
from tests.factories import ProjectFactory, TraceFactory, member, standin_source

SECRET_ENV = "TEST_WRITEBACK_SECRET"
T0 = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)
MODEL_ANSWER = "Your refund was sent."
GOLDEN = "Refunds take 5-7 business days; I have opened ticket <ID_1> for <PERSON_1>."


@pytest.fixture
def standin() -> Iterator[LangfuseStandin]:
    with LangfuseStandin(mode="new") as lf:
        yield lf


@pytest.fixture
def project(db) -> Project:
    return cast(Project, ProjectFactory(name="shop"))


@pytest.fixture
def source(project, standin, monkeypatch) -> TraceSource:
    monkeypatch.setenv(SECRET_ENV, standin.secret_key)
    return standin_source(standin, SECRET_ENV, project=project, name="shop-langfuse")


@pytest.fixture
def lead(project):
    return member(project, Role.LEAD, username="lead")


@pytest.fixture
def sop(project):
    return sop_bootstrap(project=project, user=None)


@pytest.fixture
def cluster(project) -> Cluster:
    return Cluster.objects.create(project=project, number=12, name="refund · broken", occurrences=3)


def no_sleep(slept: list[float]):
    """A writer factory whose back-off waits are recorded instead of slept."""
    return lambda config, target: ScoreWriter(config, target=target, sleep=slept.append)


def labeled_trace(
    source: TraceSource,
    sop: Any,
    *,
    n: int = 0,
    values: dict[str, Any] | None = None,
    answer: str = GOLDEN,
    reviewer: Any = None,
    decision: str = Sample.Decision.CONSENSUS,
    cluster: Cluster | None = None,
    environment: str = "production",
) -> Trace:
    """A trace with a generation, a labeling task and a final label sample (and a clustered failure)."""
    trace = cast(
        Trace,
        TraceFactory(
            source=source,
            external_id=f"trace-{n:04d}",
            timestamp=T0 + timedelta(minutes=n),
            environment=environment,
        ),
    )
    Observation.objects.create(
        trace=trace, external_id=f"gen-{n:04d}", type="GENERATION", start_time=trace.timestamp
    )
    failure = None
    if cluster is not None:
        failure = Failure.objects.create(
            project=source.project, trace=trace, rules=["thumbs-down"], cluster=cluster, assigned_by="full"
        )
    task = Task.objects.create(
        project=source.project,
        trace=trace,
        failure=failure,
        cluster=cluster,
        model_answer=MODEL_ANSWER,
        review=Task.Review.FINAL,
    )
    label = {
        "verdict": "bad",
        "error_types": ["wrong_policy", "missing_step"],
        "corrected_output": answer,
        "must_refuse": False,
        "sample_type": "negative",
        "task_type": "qa",
        "difficulty": "medium",
    } | (values or {})
    final_sample(task, sop, label, answer=answer, reviewer=reviewer, decision=decision)
    return trace


def final_sample(
    task: Task,
    sop: Any,
    values: dict[str, Any],
    *,
    answer: str,
    reviewer: Any = None,
    decision: str = Sample.Decision.CONSENSUS,
) -> Sample:
    trace = task.trace
    prompt = [{"role": "user", "content": "Where is my refund?"}]
    key = f"{trace.source.name}:{trace.external_id}"
    generation = trace.observations.filter(type="GENERATION").first()
    lineage = {
        "project": task.project.name,
        "source": trace.source.name,
        "source_id": trace.external_id,
        "observation_id": generation.external_id if generation else None,
        "cluster": f"C{task.cluster.number}" if task.cluster else None,
        "annotator": "ann1",
        "reviewer": reviewer.get_username() if reviewer else None,
        "sop_version": sop.version,
        "decision": decision,
        "round": task.round,
        "sample_type": values.get("sample_type"),
        "must_refuse": values.get("must_refuse"),
    }
    return Sample.objects.create(
        project=task.project,
        task=task,
        round=task.round,
        trace=trace,
        origin=Sample.Origin.ANNOTATION,
        status=Sample.Status.FINAL,
        decision=decision,
        item_key=key,
        group_key=f"trace:{key}",
        prompt=prompt,
        answer=answer,
        rejected_answer=task.model_answer if answer != task.model_answer else "",
        values=values,
        lineage=lineage,
        sop=sop,
        annotators=["ann1", "ann2"],
        reviewer=reviewer,
        content_hash=content_hash(prompt, answer),
        decided_at=timezone.now(),
    )


def score_posts(lf: LangfuseStandin) -> list[dict[str, Any]]:
    """Every score body the stand-in received on POST /api/public/scores, in order."""
    bodies: list[dict[str, Any]] = []
    for request in lf.requests:
        if request.method == "POST" and request.path == "/api/public/scores":
            body = request.json()
            bodies.extend(body if isinstance(body, list) else [body])
    return bodies
