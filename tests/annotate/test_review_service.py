"""Review: consensus when a task is fully labeled, a lead's accept / fix / reject, bulk, re-queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Annotation, Assignment, LabelingPolicy, ReviewAction, Sample, Task
from annotate.services import queue, review
from annotate.services.common import LabelInvalid, stable_share
from flywheel.errors import Conflict, InvalidInput, NotFound
from tests.annotate.conftest import GOOD, make_tasks
from tests.annotate.review_helpers import DISAGREE, FAST_HASHERS, label, publish_new_sop
from tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Test users need a password, not a slow hash of one (PBKDF2 costs ~0.7 s a user here)."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


def state(task: Task) -> tuple[str, int, str]:
    task.refresh_from_db()
    return task.review, task.review_bucket, task.review_note


def test_two_agreeing_annotators_make_a_final_sample_by_consensus_with_no_reviewer(labeling):
    project, _, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1, required=2)
    first = label(project, ann1, {**GOOD, "notes": "tracking says tomorrow"})
    label(project, ann2)
    sample = Sample.objects.get(task=task)
    assert (sample.status, sample.decision, sample.origin) == ("final", "consensus", "annotation")
    assert sample.reviewer is None and sample.annotators == ["ann1", "ann2"]
    assert sample.values["notes"] == "tracking says tomorrow"  # the earliest agreeing vote's label
    assert sample.answer == "It ships tomorrow." and sample.rejected_answer == "Your order shipped."
    assert sample.prompt == [{"role": "user", "content": "Where is order 0?"}]
    key = f"{task.trace.source.name}:{task.trace.external_id}"
    assert (sample.item_key, sample.group_key) == (key, f"trace:{key}")
    assert sample.lineage["annotator"] == "ann1" and sample.lineage["reviewer"] is None
    assert sample.lineage["decision"] == "consensus" and sample.lineage["sop_version"] == 1
    assert sample.lineage["source_id"] == task.trace.external_id and sample.sop.version == 1
    action = ReviewAction.objects.get(task=task)
    assert (action.kind, action.actor, action.annotation, action.sample) == ("consensus", None, first, sample)
    assert state(task)[0] == "final"


def test_two_disagreeing_annotators_leave_the_item_pending_first_in_the_queue_with_the_reason(labeling):
    project, _, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1, required=2)
    label(project, ann1)
    label(project, ann2, {**GOOD, "verdict": "good", "sample_type": "golden"})
    review_state, bucket, note = state(task)
    assert (review_state, bucket) == ("pending", Task.Bucket.DISAGREEMENT)
    assert note.startswith("verdict: ") and "sample_type: " in note
    assert not Sample.objects.exists() and not ReviewAction.objects.exists()


def test_a_single_annotated_item_waits_in_the_sampled_bucket_chosen_stably_per_trace(labeling):
    project, lead, ann1, _ = labeling
    LabelingPolicy.objects.filter(project=project).update(review_sample_rate=0.5)
    tasks = make_tasks(project, 12)
    for _ in tasks:
        label(project, ann1)
    buckets = {t.pk: state(t)[1] for t in tasks}
    expected = {
        t.pk: Task.Bucket.SAMPLED
        if stable_share(t.trace.external_id, salt="review") < 0.5
        else Task.Bucket.REST
        for t in tasks
    }
    assert buckets == expected and set(buckets.values()) == {Task.Bucket.SAMPLED, Task.Bucket.REST}
    # The same trace lands in the same bucket however often it settles (here: after a rework).
    task = tasks[0]
    annotation = Annotation.objects.get(task=task)
    review.review_reject(
        project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead, comment="recheck"
    )
    label(project, ann1)
    assert state(task)[:2] == ("pending", expected[task.pk])


def test_a_lead_accepts_one_annotation_and_it_becomes_the_final_label_with_the_reviewer(labeling):
    project, lead, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1, required=2)
    label(project, ann1)
    chosen = label(
        project, ann2, {**GOOD, "verdict": "good", "sample_type": "golden", "corrected_output": ""}
    )
    sample = review.review_accept(
        project=project, task_id=task.pk, annotation_id=chosen.pk, reviewer=lead, comment="ann2 is right"
    )
    assert (sample.decision, sample.reviewer, sample.values) == ("accepted", lead, chosen.values)
    assert sample.answer == "Your order shipped." and sample.rejected_answer == ""  # the model was right
    assert sample.lineage["annotator"] == "ann2" and sample.lineage["reviewer"] == "lead"
    action = ReviewAction.objects.get(task=task)
    assert (action.kind, action.actor, action.annotation, action.comment) == (
        "accept",
        lead,
        chosen,
        "ann2 is right",
    )
    assert state(task)[0] == "final"


def test_accepting_an_annotation_of_another_task_is_refused(labeling):
    project, lead, ann1, _ = labeling
    first, _ = make_tasks(project, 2)
    label(project, ann1)
    other = label(project, ann1)
    with pytest.raises(
        NotFound, match=f"Annotation {other.pk} is not an active annotation of task {first.pk}"
    ):
        review.review_accept(project=project, task_id=first.pk, annotation_id=other.pk, reviewer=lead)
    assert not Sample.objects.exists()


def test_a_lead_fixes_the_label_and_the_fix_is_final_cleaned_by_the_schema(labeling):
    project, lead, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1, required=2)
    label(project, ann1)
    second = label(project, ann2, {**GOOD, "verdict": "good", "sample_type": "golden"})
    fixed = {**GOOD, "corrected_output": "It ships on Monday.\r\n", "difficulty": "hard"}
    sample = review.review_fix(
        project=project,
        task_id=task.pk,
        values=fixed,
        reviewer=lead,
        comment="both wrong",
        based_on=second.pk,
    )
    assert sample.decision == "fixed" and sample.reviewer == lead
    assert (
        sample.values["corrected_output"] == "It ships on Monday." and sample.values["must_refuse"] is False
    )
    assert list(sample.values) == list(second.values)  # every schema field, in schema order
    assert sample.answer == "It ships on Monday." and sample.rejected_answer == "Your order shipped."
    assert sample.lineage["annotator"] == "ann2" and sample.lineage["difficulty"] == "hard"
    action = ReviewAction.objects.get(task=task)
    assert (action.kind, action.annotation, action.values) == ("fix", None, sample.values)


def test_an_invalid_fix_is_refused_field_by_field_and_nothing_is_written(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    label(project, ann1)
    bad = {**GOOD, "verdict": "maybe", "must_refuse": True, "colour": "red"}
    with pytest.raises(LabelInvalid) as raised:
        review.review_fix(project=project, task_id=task.pk, values=bad, reviewer=lead)
    errors = raised.value.errors
    assert errors["verdict"] == ["verdict: 'maybe' is not one of the choices"]
    assert "refusal" in errors["corrected_output"][0]
    assert errors["colour"] == ["colour is not a field of this schema"]
    assert not Sample.objects.exists() and not ReviewAction.objects.exists()
    assert state(task)[0] == "pending"


def test_a_rejection_needs_a_comment_and_changes_nothing_without_one(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    annotation = label(project, ann1)
    with pytest.raises(InvalidInput, match="Say what is wrong"):
        review.review_reject(
            project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead, comment=" "
        )
    annotation.refresh_from_db()
    assert annotation.status == "active" and state(task)[0] == "pending"


def test_a_rejected_task_goes_back_to_the_same_annotator_first_and_nobody_else_gets_the_slot(labeling):
    project, lead, ann1, ann2 = labeling
    task, later = make_tasks(project, 2)
    annotation = label(project, ann1)
    review.review_reject(
        project=project,
        task_id=task.pk,
        annotation_id=annotation.pk,
        reviewer=lead,
        comment="Check the date.",
    )
    annotation.refresh_from_db()
    assert annotation.status == Annotation.Status.REJECTED  # kept, not deleted
    assignment = annotation.assignment
    assignment.refresh_from_db()
    assert (assignment.status, assignment.return_comment) == ("returned", "Check the date.")
    assert state(task)[0] == ""  # back to labeling
    # ann2 gets the other task, never the returned one (its slot is reserved for ann1).
    assert queue.next_task(project=project, user=ann2).task == later
    rework = queue.next_task(project=project, user=ann1)
    assert rework.pk == assignment.pk and rework.task == task and rework.return_comment == "Check the date."
    redo = queue.submit(assignment_id=rework.pk, user=ann1, values={**GOOD, "corrected_output": "Monday."})
    assert redo.pk != annotation.pk and redo.assignment_id == assignment.pk
    statuses = dict(Annotation.objects.filter(task=task).values_list("pk", "status"))
    assert statuses == {annotation.pk: "rejected", redo.pk: "active"}
    assert state(task)[0] == "pending"
    kinds = list(ReviewAction.objects.filter(task=task).values_list("kind", "actor__username", "comment"))
    assert kinds == [("reject", "lead", "Check the date.")]


def test_a_lead_may_send_back_both_sides_of_a_disagreement_and_both_reworks_settle_it(labeling):
    project, lead, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1, required=2)
    first = label(project, ann1)
    second = label(project, ann2, DISAGREE)
    review.review_reject(project=project, task_id=task.pk, annotation_id=first.pk, reviewer=lead, comment="a")
    review.review_reject(
        project=project, task_id=task.pk, annotation_id=second.pk, reviewer=lead, comment="b"
    )
    with pytest.raises(Conflict, match="sent back to ann2 by lead"):
        review.review_accept(project=project, task_id=task.pk, annotation_id=first.pk, reviewer=lead)
    task.refresh_from_db()
    assert (task.submitted_count, task.leased_count) == (0, 2)
    assert queue.next_task(project=project, user=ann2).return_comment == "b"
    label(project, ann1)
    label(project, ann2)  # both now give GOOD: consensus
    assert Sample.objects.get(task=task).decision == "consensus"


def test_an_expired_lease_on_rework_goes_back_to_returned_and_stays_the_annotators(labeling):
    project, lead, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1)
    annotation = label(project, ann1)
    review.review_reject(
        project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead, comment="x"
    )
    rework = queue.next_task(project=project, user=ann1)
    Assignment.objects.filter(pk=rework.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert queue.next_task(project=project, user=ann2) is None  # expires the lease; the slot stays ann1's
    rework.refresh_from_db()
    assert rework.status == Assignment.Status.RETURNED and rework.finished_at is None
    task.refresh_from_db()
    assert (task.leased_count, task.submitted_count) == (1, 0)
    again = queue.next_task(project=project, user=ann1)
    assert again.pk == rework.pk and again.status == Assignment.Status.LEASED


def test_the_annotators_own_lapsed_rework_comes_back_to_them_before_new_work(labeling):
    project, lead, ann1, _ = labeling
    task, _ = make_tasks(project, 2)
    annotation = label(project, ann1)
    review.review_reject(
        project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead, comment="x"
    )
    rework = queue.next_task(project=project, user=ann1)
    Assignment.objects.filter(pk=rework.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert queue.next_task(project=project, user=ann1).pk == rework.pk


def test_a_second_lead_deciding_the_same_item_gets_a_conflict_naming_the_first(labeling):
    project, lead, ann1, _ = labeling
    other_lead = member(project, "lead", username="lead2")
    (task,) = make_tasks(project, 1)
    annotation = label(project, ann1)
    review.review_accept(project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead)
    with pytest.raises(Conflict, match="already has a final label \\(decided by lead\\)"):
        review.review_fix(project=project, task_id=task.pk, values=GOOD, reviewer=other_lead)
    with pytest.raises(Conflict):
        review.review_reject(
            project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=other_lead, comment="no"
        )
    assert Sample.objects.count() == 1 and ReviewAction.objects.count() == 1


def test_deciding_an_item_that_was_sent_back_says_who_has_it(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    annotation = label(project, ann1)
    review.review_reject(
        project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead, comment="x"
    )
    with pytest.raises(Conflict, match="sent back to ann1 by lead"):
        review.review_accept(project=project, task_id=task.pk, annotation_id=annotation.pk, reviewer=lead)


def test_bulk_accept_takes_single_annotated_items_in_queue_order_and_skips_disagreements(labeling):
    project, lead, ann1, ann2 = labeling
    LabelingPolicy.objects.filter(project=project).update(review_sample_rate=0.0)
    disputed = make_tasks(project, 1, required=2)[0]
    singles = make_tasks(project, 3)
    for _ in range(4):
        label(project, ann1)
    label(project, ann2, {**GOOD, "verdict": "good", "sample_type": "golden"})
    assert review.review_bulk_accept(project=project, reviewer=lead, limit=2) == 2
    assert review.review_bulk_accept(project=project, reviewer=lead, bucket=Task.Bucket.SAMPLED) == 0
    assert review.review_bulk_accept(project=project, reviewer=lead) == 1
    assert state(disputed)[:2] == ("pending", Task.Bucket.DISAGREEMENT)
    samples = Sample.objects.filter(task__in=singles)
    assert samples.count() == 3 and set(samples.values_list("decision", flat=True)) == {"bulk"}
    assert set(ReviewAction.objects.values_list("kind", "actor__username")) == {("bulk_accept", "lead")}


def test_after_a_new_sop_version_outdated_items_are_requeued_as_round_two_and_history_is_kept(labeling):
    project, lead, ann1, ann2 = labeling
    agreed, single = make_tasks(project, 1, required=2) + make_tasks(project, 1)
    label(project, ann1)
    label(project, ann2)
    label(project, ann1)
    single_annotation = Annotation.objects.get(task=single)
    assert not review.outdated_tasks(project).exists()
    v2 = publish_new_sop(project, lead)
    assert list(review.outdated_tasks(project)) == [agreed, single]
    assert review.requeue(project=project, user=lead, task_ids=[agreed.pk]) == 1
    agreed.refresh_from_db()
    assert (agreed.round, agreed.review, agreed.status, agreed.submitted_count) == (2, "", "open", 0)
    assert set(Annotation.objects.filter(task=agreed).values_list("status", flat=True)) == {"superseded"}
    old = Sample.objects.get(task=agreed)
    assert old.status == "superseded" and old.round == 1
    action = ReviewAction.objects.filter(task=agreed, kind="requeue").get()
    assert action.actor == lead and action.comment == "round 2 under SOP v2 (labeled under v1)"
    assert list(review.outdated_tasks(project)) == [single]
    # The same annotators label it again, under v2; consensus makes a new final sample.
    again = label(project, ann1)
    assert (again.task, again.round, again.sop) == (agreed, 2, v2)
    label(project, ann2)
    assert Sample.objects.filter(task=agreed, status="final").get().round == 2
    assert Annotation.objects.filter(task=agreed).count() == 4
    assert review.requeue(project=project, user=lead) == 1  # the rest: the single-annotated item
    single_annotation.refresh_from_db()
    assert single_annotation.status == "superseded"
    assert not review.outdated_tasks(project).exists()


def test_a_requeue_keeps_rejected_annotations_rejected(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    first = label(project, ann1)
    review.review_reject(project=project, task_id=task.pk, annotation_id=first.pk, reviewer=lead, comment="x")
    second = label(project, ann1)
    publish_new_sop(project, lead)
    assert review.requeue(project=project, user=lead) == 1
    statuses = dict(Annotation.objects.filter(task=task).values_list("pk", "status"))
    assert statuses == {first.pk: "rejected", second.pk: "superseded"}


def test_requeue_leaves_items_still_being_labeled_alone(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1, required=2)
    label(project, ann1)  # one of two: still labeling
    publish_new_sop(project, lead)
    assert review.requeue(project=project, user=lead) == 0
    task.refresh_from_db()
    assert task.round == 1


def test_a_requeue_supersedes_the_seeds_variants_too(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    label(project, ann1)
    seed = review.review_bulk_accept(project=project, reviewer=lead) and Sample.objects.get(task=task)
    variant = Sample.objects.create(
        project=project,
        seed=seed,
        origin=Sample.Origin.VARIANT,
        status=Sample.Status.FINAL,
        item_key=f"{seed.item_key}~noise-r1-0",
        group_key=seed.group_key,
        prompt=seed.prompt,
        answer=seed.answer,
        content_hash="v",
    )
    publish_new_sop(project, lead)
    assert review.requeue(project=project, user=lead) == 1
    variant.refresh_from_db()
    assert variant.status == "superseded"  # derived from a label that no longer stands


def test_a_reopened_final_label_is_kept_superseded_and_the_item_waits_for_a_new_decision(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    vote = label(project, ann1)
    first = review.review_accept(project=project, task_id=task.pk, annotation_id=vote.pk, reviewer=lead)
    with pytest.raises(InvalidInput):
        review.review_reopen(project=project, task_id=task.pk, reviewer=lead, comment=" ")
    review.review_reopen(project=project, task_id=task.pk, reviewer=lead, comment="PII gate: a name")
    first.refresh_from_db()
    task.refresh_from_db()
    assert first.status == "superseded" and task.review == "pending"
    assert "PII gate: a name" in task.review_note
    second = review.review_fix(project=project, task_id=task.pk, values={**GOOD, "notes": "x"}, reviewer=lead)
    assert second.status == "final" and second.round == first.round
    kinds = list(ReviewAction.objects.filter(task=task).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["accept", "reopen", "fix"]


def test_a_discarded_item_stays_decided_but_leaves_every_release_with_its_variants(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    label(project, ann1)
    review.review_bulk_accept(project=project, reviewer=lead)
    seed = Sample.objects.get(task=task)
    variant = Sample.objects.create(
        project=project,
        seed=seed,
        origin="variant",
        status="final",
        item_key="v1",
        group_key=seed.group_key,
        prompt=seed.prompt,
        answer=seed.answer,
        content_hash="v",
    )
    review.review_discard(project=project, task_id=task.pk, reviewer=lead, comment="a name survived")
    seed.refresh_from_db()
    variant.refresh_from_db()
    task.refresh_from_db()
    assert (seed.status, variant.status, task.review) == ("discarded", "discarded", "final")
    assert task.review_note == "discarded: a name survived"
    with pytest.raises(Conflict):  # nothing final any more to reopen
        review.review_reopen(project=project, task_id=task.pk, reviewer=lead, comment="oops")


def test_a_pending_item_can_be_discarded_without_a_final_label(labeling):
    project, lead, ann1, _ = labeling
    (task,) = make_tasks(project, 1)
    label(project, ann1)
    review.review_discard(project=project, task_id=task.pk, reviewer=lead, comment="cannot be labeled")
    task.refresh_from_db()
    assert task.review == "final" and not Sample.objects.filter(task=task).exists()
    assert ReviewAction.objects.filter(task=task, kind="discard").get().comment == "cannot be labeled"
    with pytest.raises(Conflict):  # decided already
        review.review_discard(project=project, task_id=task.pk, reviewer=lead, comment="again")
