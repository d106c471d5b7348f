"""Every main page costs a fixed number of queries, however many rows the project holds.

Each page is asked twice: after a small project grew a little, and after it grew five times as
much. The second count must not exceed the first (no query per row: no N+1) and stays within the
page's budget, which is what the page costs today: a new query on a page has to be argued for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import count

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate.models import Annotation, Assignment, LabelingPolicy, ReviewAction, Role, Sample, Task
from annotate.services import queue, review
from annotate.services.sops import sop_bootstrap, sop_publish, sop_save_draft
from flywheel.models import (
    Cluster,
    ClusterRun,
    Failure,
    NightlyRun,
    Observation,
    Project,
    Score,
    TrainingRun,
)
from tests.annotate.conftest import GOOD, make_tasks
from tests.factories import ProjectFactory, SourceFactory, TraceFactory, member

pytestmark = pytest.mark.django_db
SERIAL = count()
BAD = {**GOOD, "verdict": "good", "sample_type": "golden", "corrected_output": "Your order shipped."}


class World:
    """A project with a lead, two annotators and one of everything the pages list; ``grow`` adds more."""

    def __init__(self) -> None:
        self.project: Project = ProjectFactory()  # type: ignore[assignment]
        self.lead = member(self.project, Role.LEAD)
        self.ann1 = member(self.project, Role.ANNOTATOR)
        self.ann2 = member(self.project, Role.ANNOTATOR)
        self.ann3 = member(self.project, Role.ANNOTATOR)  # collects rework a lead sent back
        self.ann4 = member(self.project, Role.ANNOTATOR)  # holds the lease the label page shows
        sop_bootstrap(project=self.project, user=self.lead)
        LabelingPolicy.objects.create(project=self.project, gold_rate=0.0)
        self.source = SourceFactory(project=self.project)
        self.run = ClusterRun.objects.create(project=self.project, kind="full", status="succeeded")
        self.cluster = self._cluster()
        self.trace = TraceFactory(source=self.source, timestamp=timezone.now())
        self.pending: Task | None = None

    def _cluster(self) -> Cluster:
        n = next(SERIAL)
        return Cluster.objects.create(
            project=self.project,
            number=n + 1,
            name=f"topic {n}",
            occurrences=1,
            centroid=np.random.default_rng(n).standard_normal(8).astype(np.float32).tobytes(),
            first_run=self.run,
            last_run=self.run,
        )

    def grow(self, n: int) -> None:
        """``n`` more of each: traces (failures in clusters), observations and scores of the one
        trace, clusters, labeled tasks (disagreements waiting for review, decided ones, rework),
        SOP versions, training and nightly runs."""
        now = timezone.now()
        for _ in range(n):
            i = next(SERIAL)
            trace = TraceFactory(source=self.source, timestamp=now - timedelta(hours=i % 48))
            cluster = self._cluster() if i % 2 else self.cluster
            Failure.objects.create(project=self.project, trace=trace, rules=["thumbs-down"], cluster=cluster)
            Observation.objects.create(trace=self.trace, external_id=f"obs-{i}", type="GENERATION")
            Score.objects.create(trace=self.trace, external_id=f"score-{i}", name="user-feedback", value=0)
            TrainingRun.objects.create(
                project=self.project, release_name=f"r{i}", method="sft", run_dir=f"/nonexistent/run-{i}"
            )
            NightlyRun.objects.create(project=self.project, steps={"sync": {"status": "succeeded"}})
        tasks = make_tasks(self.project, n, required=2)
        for annotator, values in ((self.ann1, GOOD), (self.ann2, BAD)):
            for _ in tasks:
                lease = queue.next_task(project=self.project, user=annotator)
                assert lease is not None
                queue.submit(assignment_id=lease.pk, user=annotator, values=values)
        self.pending = tasks[0]
        for task in tasks[1:]:  # decided: final samples and their history
            vote = review.active_annotations(task).first()
            assert vote is not None
            review.review_accept(
                project=self.project, task_id=task.pk, annotation_id=vote.pk, reviewer=self.lead
            )
        for task in make_tasks(self.project, n):
            self._sent_back(task)
        current = self.project.sops.get(status="published", version=self.project.sops.count())
        draft = sop_save_draft(
            project=self.project, body=current.body, label_schema=current.label_schema, user=self.lead
        )
        sop_publish(sop=draft)
        assert Sample.objects.filter(project=self.project).count() >= n - 1

    def _sent_back(self, task: Task) -> None:
        """ann3's label on ``task``, rejected by the lead with a comment: what review_reject leaves."""
        sop = self.project.sops.first()
        now = timezone.now()
        turn = Assignment.objects.create(
            task=task,
            annotator=self.ann3,
            sop=sop,
            status=Assignment.Status.RETURNED,
            lease_expires_at=now,
            return_comment="Read the SOP's refusal section again.",
        )
        Task.objects.filter(pk=task.pk).update(leased_count=1)
        rejected = Annotation.objects.create(
            task=task,
            assignment=turn,
            annotator=self.ann3,
            sop=sop,
            values=GOOD,
            lineage={},
            status=Annotation.Status.REJECTED,
        )
        ReviewAction.objects.create(
            project=self.project,
            task=task,
            annotation=rejected,
            actor=self.lead,
            kind=ReviewAction.Kind.REJECT,
            comment=turn.return_comment,
        )

    def lease_for(self, user: object) -> Assignment:
        make_tasks(self.project, 1)
        lease = queue.next_task(project=self.project, user=user)
        assert lease is not None
        return lease


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def same_cost(world: World, client: Client, url: Callable[[], str], budget: int) -> None:
    world.grow(2)
    queries(client, url())  # warm: the first request after growing may fill a cache
    small = queries(client, url())
    world.grow(8)
    queries(client, url())
    large = queries(client, url())
    assert large <= small, f"{url()}: {small} queries with few rows, {large} with more (a query per row?)"
    assert large <= budget, f"{url()}: {large} queries, the budget is {budget}"


@pytest.fixture
def world() -> World:
    return World()


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


LEAD_PAGES = [
    ("trace list", lambda w: f"/projects/{w.project.pk}/traces/", 5),
    ("trace detail", lambda w: f"/projects/{w.project.pk}/traces/{w.trace.pk}/", 7),
    ("clusters", lambda w: f"/projects/{w.project.pk}/clusters/", 10),
    ("cluster detail", lambda w: f"/projects/{w.project.pk}/clusters/{w.cluster.number}/", 9),
    ("unclustered", lambda w: f"/projects/{w.project.pk}/clusters/unclustered/", 7),
    ("review queue", lambda w: f"/projects/{w.project.pk}/review/", 12),
    ("review item", lambda w: f"/projects/{w.project.pk}/review/{w.pending.pk}/", 13),
    ("training runs", lambda w: f"/projects/{w.project.pk}/training-runs/", 5),
    ("nightly runs", lambda w: f"/projects/{w.project.pk}/nightly/", 4),
    ("SOP page", lambda w: f"/projects/{w.project.pk}/sop/", 4),
]


@pytest.mark.parametrize(("name", "url", "budget"), LEAD_PAGES, ids=[p[0] for p in LEAD_PAGES])
def test_a_lead_page_costs_the_same_queries_with_ten_times_the_rows(world, name, url, budget):
    same_cost(world, signed_in(world.lead), lambda: url(world), budget)


def test_the_label_home_costs_the_same_queries_however_much_rework_waits(world):
    same_cost(world, signed_in(world.ann3), lambda: f"/projects/{world.project.pk}/label/", 10)


def test_the_label_item_costs_the_same_queries_however_big_the_project_is(world):
    client = signed_in(world.ann4)

    def url() -> str:
        held = queue.current_lease(project=world.project, user=world.ann4) or world.lease_for(world.ann4)
        return f"/projects/{world.project.pk}/label/{held.pk}/"

    same_cost(world, client, url, 8)


def test_the_cached_agreement_page_costs_a_fixed_number_of_queries(world):
    same_cost(world, signed_in(world.lead), lambda: f"/projects/{world.project.pk}/agreement/", 13)


def test_the_cold_agreement_page_costs_a_fixed_number_of_queries(world):
    same_cost(world, signed_in(world.lead), lambda: f"/projects/{world.project.pk}/agreement/?fresh=1", 22)
