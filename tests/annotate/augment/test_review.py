"""A lead's decisions on proposed rows: accept, discard, sample-then-bulk; each one in the review history."""

from __future__ import annotations

import pytest

from annotate.augment import parse_recipe
from annotate.models import ReviewAction, Role, Sample
from annotate.services.augment import (
    augment_run,
    proposed_accept,
    proposed_bulk_accept,
    proposed_discard,
    proposed_preview,
)
from annotate.services.augment_review import bulk_needs, reviewed_count
from flywheel.errors import Conflict, InvalidInput, NotFound
from tests.factories import ProjectFactory, member

pytestmark = pytest.mark.django_db
RECIPE = "name: r\nseed: 2\nvariants:\n  - {transform: entity_substitution, count: 2}\n  - noise\n  - tone\n"


@pytest.fixture
def proposed(world, fake_scrubber, hashing):
    project, lead, _ = world
    run = augment_run(project=project, recipe=parse_recipe(RECIPE), scrubber=fake_scrubber, embedder=hashing)
    rows = list(Sample.objects.filter(augment_run=run).order_by("pk"))
    assert len(rows) >= 12
    return project, lead, run, rows


def test_accepting_a_row_makes_it_final_with_its_reviewer_in_the_sample_and_its_lineage(proposed):
    project, lead, _, rows = proposed
    sample = proposed_accept(project=project, sample_id=rows[0].pk, reviewer=lead, comment=" reads well ")
    sample.refresh_from_db()
    assert (sample.status, sample.decision, sample.reviewer) == ("final", "accepted", lead)
    assert sample.decided_at is not None
    assert sample.lineage["reviewer"] == lead.username and sample.lineage["decision"] == "accepted"
    action = ReviewAction.objects.get(sample=sample)
    assert (action.kind, action.actor, action.comment, action.values) == (
        "accept",
        lead,
        "reads well",
        sample.values,
    )
    assert action.project == project and action.task is None


def test_discarding_a_row_keeps_it_out_of_the_reviewed_set_with_the_reason(proposed):
    project, lead, _, rows = proposed
    sample = proposed_discard(
        project=project, sample_id=rows[1].pk, reviewer=lead, comment="changes the meaning"
    )
    sample.refresh_from_db()
    assert (sample.status, sample.decision, sample.reviewer) == ("discarded", "", lead)
    assert sample.lineage["decision"] is None and sample.lineage["reviewer"] == lead.username
    action = ReviewAction.objects.get(sample=sample)
    assert (action.kind, action.comment, action.values) == ("discard", "changes the meaning", None)


def test_a_row_decided_once_cannot_be_decided_again_and_the_error_says_by_whom(proposed):
    project, lead, _, rows = proposed
    proposed_accept(project=project, sample_id=rows[0].pk, reviewer=lead)
    other = member(project, Role.LEAD, username="other-lead")
    with pytest.raises(Conflict, match=f"Sample {rows[0].pk} is already final \\(by {lead.username}\\)"):
        proposed_discard(project=project, sample_id=rows[0].pk, reviewer=other)
    assert ReviewAction.objects.filter(sample=rows[0]).count() == 1


def test_only_proposed_rows_of_this_project_can_be_decided(proposed, world):
    project, lead, _, rows = proposed
    _, _, seeds = world
    with pytest.raises(NotFound, match="No proposed sample"):
        proposed_accept(
            project=project, sample_id=seeds["status"].pk, reviewer=lead
        )  # a labeled task's sample
    elsewhere = ProjectFactory()
    with pytest.raises(NotFound):
        proposed_accept(project=elsewhere, sample_id=rows[0].pk, reviewer=lead)


def test_bulk_accept_waits_until_enough_rows_were_reviewed_one_by_one(proposed):
    project, lead, run, rows = proposed
    assert bulk_needs(run=run) == 5
    with pytest.raises(
        InvalidInput, match=f"Review at least 5 rows of run {run.pk} one by one .*\\(0 reviewed"
    ):
        proposed_bulk_accept(project=project, run_id=run.pk, reviewer=lead)
    for row in rows[:3]:
        proposed_accept(project=project, sample_id=row.pk, reviewer=lead)
    for row in rows[3:5]:
        proposed_discard(project=project, sample_id=row.pk, reviewer=lead)
    assert reviewed_count(run=run) == 5
    accepted = proposed_bulk_accept(project=project, run_id=run.pk, reviewer=lead)
    assert accepted == len(rows) - 5
    statuses = dict(Sample.objects.filter(augment_run=run).values_list("pk", "decision"))
    assert [statuses[r.pk] for r in rows] == ["accepted"] * 3 + [""] * 2 + ["bulk"] * (len(rows) - 5)
    bulk = ReviewAction.objects.filter(kind="bulk_accept")
    assert bulk.count() == accepted and {a.actor for a in bulk} == {lead}
    assert all(s.lineage["decision"] == "bulk" for s in Sample.objects.filter(decision="bulk"))
    assert proposed_bulk_accept(project=project, run_id=run.pk, reviewer=lead) == 0


def test_bulk_accept_touches_only_its_own_run(proposed, fake_scrubber, hashing):
    project, lead, run, rows = proposed
    other = augment_run(
        project=project, recipe=parse_recipe(RECIPE), round=2, scrubber=fake_scrubber, embedder=hashing
    )
    for row in rows[:5]:
        proposed_accept(project=project, sample_id=row.pk, reviewer=lead)
    proposed_bulk_accept(project=project, run_id=run.pk, reviewer=lead)
    assert set(Sample.objects.filter(augment_run=other).values_list("status", flat=True)) == {"proposed"}
    with pytest.raises(NotFound, match="No augmentation run 99999"):
        proposed_bulk_accept(project=project, run_id=99999, reviewer=lead)


def test_the_preview_is_a_stable_random_sample_of_the_rows_still_waiting(proposed):
    project, lead, run, rows = proposed
    first = proposed_preview(project=project, run=run, k=4)
    assert len(first) == 4 and first == proposed_preview(project=project, run=run, k=4)
    assert [s.pk for s in first] != [r.pk for r in rows[:4]]  # not simply the oldest
    proposed_accept(project=project, sample_id=first[0].pk, reviewer=lead)
    after = proposed_preview(project=project, run=run, k=4)
    assert first[0] not in after and after[:3] == first[1:]
    assert len(proposed_preview(project=project, run=run, k=1000)) == len(rows) - 1
