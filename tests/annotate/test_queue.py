"""Next task, leases, submit, skip: the annotator's queue and its guarantees."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Annotation, Assignment, LabelingPolicy, Task
from annotate.services import queue
from annotate.services.tasks import task_make_gold
from flywheel.errors import Conflict, InvalidInput
from tests.annotate.conftest import GOOD, make_tasks

pytestmark = pytest.mark.django_db


def test_next_task_leases_the_highest_priority_task_and_returns_the_same_lease_until_done(labeling):
    project, _, ann1, _ = labeling
    first, second = make_tasks(project, 2)
    lease = queue.next_task(project=project, user=ann1)
    assert lease.task == first and lease.status == Assignment.Status.LEASED
    assert queue.next_task(project=project, user=ann1) == lease
    queue.submit(assignment_id=lease.pk, user=ann1, values=GOOD)
    assert queue.next_task(project=project, user=ann1).task == second


def test_a_submission_records_the_sop_version_and_full_lineage(labeling):
    project, _, ann1, _ = labeling
    task = make_tasks(project, 1)[0]
    lease = queue.next_task(project=project, user=ann1)
    annotation = queue.submit(assignment_id=lease.pk, user=ann1, values={**GOOD, "difficulty": "hard"})
    assert annotation.sop.version == 1
    assert annotation.values["verdict"] == "bad" and annotation.values["must_refuse"] is False
    lineage = annotation.lineage
    assert lineage["source_id"] == task.trace.external_id and lineage["annotator"] == "ann1"
    assert lineage["sop_version"] == 1 and lineage["cluster"] == "C1"
    assert (lineage["task_type"], lineage["difficulty"], lineage["sample_type"]) == ("qa", "hard", "negative")
    assert lineage["augment_type"] is None and lineage["version"] == 1
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.submitted_count == 1


def test_an_invalid_label_is_refused_field_by_field_and_nothing_is_written(labeling):
    project, _, ann1, _ = labeling
    make_tasks(project, 1, answer='{"order_id": "A1"}')
    lease = queue.next_task(project=project, user=ann1)
    with pytest.raises(queue.LabelInvalid) as bad:
        queue.submit(assignment_id=lease.pk, user=ann1, values={**GOOD, "corrected_output": '{"order_id": '})
    assert "corrected_output" in bad.value.errors and "JSON" in bad.value.errors["corrected_output"][0]
    assert "line 1" in bad.value.errors["corrected_output"][0]
    assert Annotation.objects.count() == 0
    lease.refresh_from_db()
    assert lease.status == Assignment.Status.LEASED  # the annotator can fix it and submit again
    queue.submit(assignment_id=lease.pk, user=ann1, values={**GOOD, "corrected_output": '{"order_id": "A1"}'})


def test_must_refuse_requires_the_corrected_answer_to_be_a_refusal(labeling):
    project, _, ann1, _ = labeling
    make_tasks(project, 1)
    lease = queue.next_task(project=project, user=ann1)
    values = {**GOOD, "must_refuse": True, "sample_type": "boundary"}
    with pytest.raises(queue.LabelInvalid) as bad:
        queue.submit(assignment_id=lease.pk, user=ann1, values=values)
    assert "refusal" in bad.value.errors["corrected_output"][0]
    refusal = "I'm sorry, but I can't share other customers' details."
    queue.submit(assignment_id=lease.pk, user=ann1, values={**values, "corrected_output": refusal})


def test_a_submit_after_the_lease_expired_is_refused_and_overwrites_nothing(labeling):
    project, _, ann1, ann2 = labeling
    make_tasks(project, 1)
    lease = queue.next_task(project=project, user=ann1)
    Assignment.objects.filter(pk=lease.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    other = queue.next_task(project=project, user=ann2)  # the task went back to the queue
    assert other is not None and other.task == lease.task
    with pytest.raises(Conflict, match="expired"):
        queue.submit(assignment_id=lease.pk, user=ann1, values=GOOD)
    assert Annotation.objects.count() == 0
    queue.submit(assignment_id=other.pk, user=ann2, values=GOOD)
    assert list(Annotation.objects.values_list("annotator__username", flat=True)) == ["ann2"]


def test_an_annotator_never_gets_the_same_task_twice_even_after_skipping_it(labeling):
    project, _, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1)
    lease = queue.next_task(project=project, user=ann1)
    with pytest.raises(InvalidInput, match="Say why"):
        queue.skip(assignment_id=lease.pk, user=ann1, reason="  ")
    queue.skip(assignment_id=lease.pk, user=ann1, reason="not enough context")
    assert queue.next_task(project=project, user=ann1) is None
    assert queue.next_task(project=project, user=ann2).task == task  # a skipped task goes to someone else


def test_an_overlapped_task_goes_to_exactly_k_annotators(labeling, django_user_model):
    project, _, ann1, ann2 = labeling
    (task,) = make_tasks(project, 1, required=2)
    third = django_user_model.objects.create(username="ann3")
    from annotate.models import Membership

    Membership.objects.create(user=third, project=project, role="annotator")
    assert queue.next_task(project=project, user=ann1).task == task
    assert queue.next_task(project=project, user=ann2).task == task
    assert queue.next_task(project=project, user=third) is None


def test_gold_tasks_are_mixed_in_at_the_configured_rate(labeling):
    project, _, ann1, ann2 = labeling
    normal, gold = make_tasks(project, 2)
    task_make_gold(task=gold, answer=GOOD)
    LabelingPolicy.objects.filter(project=project).update(gold_rate=1.0)
    assert queue.next_task(project=project, user=ann1, rng=random.Random(1)).task == gold
    assert queue.next_task(project=project, user=ann2, rng=random.Random(1)).task == gold  # every annotator
    LabelingPolicy.objects.filter(project=project).update(gold_rate=0.0)
    queue.skip(assignment_id=queue.current_lease(project=project, user=ann1).pk, user=ann1, reason="x")
    assert queue.next_task(project=project, user=ann1).task == normal


def test_a_stranger_cannot_submit_someone_elses_assignment(labeling):
    project, _, ann1, ann2 = labeling
    make_tasks(project, 1)
    lease = queue.next_task(project=project, user=ann1)
    with pytest.raises(Exception, match="No open assignment"):
        queue.submit(assignment_id=lease.pk, user=ann2, values=GOOD)
