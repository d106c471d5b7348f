from __future__ import annotations

from typing import Any, cast

import pytest

from annotate.models import LabelingPolicy, Role, Task
from annotate.services import queue
from annotate.services.sops import sop_bootstrap
from flywheel.models import Cluster, Failure, Project
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, member


def make_tasks(project, n: int, *, required: int = 1, answer: str = "Your order shipped.") -> list[Task]:
    source = project.sources.first() or SourceFactory(project=project)
    cluster = Cluster.objects.filter(project=project).first() or Cluster.objects.create(
        project=project, number=1, name="late · order", occurrences=n
    )
    tasks = []
    for i in range(n):
        trace = TraceFactory(
            source=source,
            conversation=[
                {"role": "user", "content": f"Where is order {i}?"},
                {"role": "assistant", "content": answer},
            ],
        )
        failure = Failure.objects.create(project=project, trace=trace, rules=["thumbs-down"], cluster=cluster)
        tasks.append(
            Task.objects.create(
                project=project,
                trace=trace,
                failure=failure,
                cluster=cluster,
                model_answer=answer,
                required_annotations=required,
                priority=float(n - i),
                output_format="json" if answer.lstrip().startswith("{") else "text",
            )
        )
    return tasks


def leased_project(name: str = "acme") -> tuple[Any, Any, Any, Any]:
    """(project, lead, annotator, lease): the default SOP, no gold, two tasks, one of them leased."""
    project = cast(Project, ProjectFactory(name=name))
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    annotator = member(project, Role.ANNOTATOR, username="ann")
    make_tasks(project, 2)
    lease = queue.next_task(project=project, user=annotator)
    assert lease is not None
    return project, lead, annotator, lease


@pytest.fixture
def labeling(db):
    """A project with a published SOP, a lead, two annotators and no gold (deterministic queue)."""
    project = ProjectFactory(name="acme")
    lead = member(project, Role.LEAD, username="lead")
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    ann1 = member(project, Role.ANNOTATOR, username="ann1")
    ann2 = member(project, Role.ANNOTATOR, username="ann2")
    return project, lead, ann1, ann2


GOOD = {
    "verdict": "bad",
    "sample_type": "negative",
    "corrected_output": "It ships tomorrow.",
    "task_type": "qa",
}
