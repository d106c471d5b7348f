"""Lapsed leases are swept now and then, not on every next-task, and never at anyone's expense."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Annotation, Assignment, ReviewAction, Task
from annotate.services import queue
from annotate.services.review import review_reject
from annotate.services.sops import sop_publish, sop_save_draft
from tests.annotate.conftest import GOOD, make_tasks

pytestmark = pytest.mark.django_db


def lapse(lease: Assignment) -> None:
    Assignment.objects.filter(pk=lease.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def swept_just_now(labeling):
    """The project's leases were swept a moment ago: the next sweep is not due yet."""
    project = labeling[0]
    queue.expire_leases(project)
    return labeling


def test_a_lapsed_lease_frees_its_slot_before_anyone_is_told_the_queue_is_empty(swept_just_now):
    project, _, ann1, ann2 = swept_just_now
    (task,) = make_tasks(project, 1)
    lapse(queue.next_task(project=project, user=ann1))
    lease = queue.next_task(project=project, user=ann2)
    assert lease is not None and lease.task_id == task.pk
    assert Assignment.objects.get(task=task, annotator=ann1).status == Assignment.Status.EXPIRED
    assert Task.objects.get(pk=task.pk).leased_count == 1


def test_while_other_work_is_free_a_lapsed_lease_waits_for_the_next_sweep(swept_just_now, monkeypatch):
    project, _, ann1, ann2 = swept_just_now
    first, second = make_tasks(project, 2)
    stale = queue.next_task(project=project, user=ann1)
    lapse(stale)
    other = queue.next_task(project=project, user=ann2)
    assert other.task_id == second.pk
    assert Assignment.objects.get(pk=stale.pk).status == Assignment.Status.LEASED  # not swept yet
    queue.submit(assignment_id=other.pk, user=ann2, values=GOOD)
    monkeypatch.setattr(queue, "LEASE_SWEEP_SECONDS", 0.0)  # the next sweep is due
    assert queue.next_task(project=project, user=ann2).task_id == first.pk
    assert Assignment.objects.get(pk=stale.pk).status == Assignment.Status.EXPIRED


def test_rework_whose_lease_lapsed_comes_back_before_new_work_without_waiting_for_a_sweep(swept_just_now):
    project, lead, ann1, _ = swept_just_now
    done, fresh = make_tasks(project, 2)
    lease = queue.next_task(project=project, user=ann1)
    queue.submit(assignment_id=lease.pk, user=ann1, values=GOOD)
    vote = Annotation.objects.get(assignment=lease)
    review_reject(project=project, task_id=done.pk, annotation_id=vote.pk, reviewer=lead, comment="Re-read.")
    rework = queue.next_task(project=project, user=ann1)
    assert rework.pk == lease.pk and rework.return_comment
    lapse(rework)
    again = queue.next_task(project=project, user=ann1)
    assert again.pk == lease.pk and again.lease_expires_at > timezone.now()
    assert not Assignment.objects.filter(task=fresh, annotator=ann1).exists()
    assert ReviewAction.objects.filter(task=done, kind=ReviewAction.Kind.REJECT).count() == 1


def test_a_sweep_never_takes_back_rework_its_annotator_picked_up_again(swept_just_now):
    project, lead, ann1, _ = swept_just_now
    (task,) = make_tasks(project, 1)
    lease = queue.next_task(project=project, user=ann1)
    queue.submit(assignment_id=lease.pk, user=ann1, values=GOOD)
    vote = Annotation.objects.get(assignment=lease)
    review_reject(project=project, task_id=task.pk, annotation_id=vote.pk, reviewer=lead, comment="Re-read.")
    lapse(queue.next_task(project=project, user=ann1))
    queue.next_task(project=project, user=ann1)  # taken up again: live until a new expiry
    assert queue.expire_leases(project) == 0
    assert Assignment.objects.get(pk=lease.pk).status == Assignment.Status.LEASED


def test_a_newly_published_sop_applies_to_the_very_next_lease(labeling):
    project, lead, ann1, _ = labeling
    make_tasks(project, 2)
    first = queue.next_task(project=project, user=ann1)
    queue.submit(assignment_id=first.pk, user=ann1, values=GOOD)
    current = project.sops.get(status="published")
    sop_publish(
        sop=sop_save_draft(project=project, body=current.body, label_schema=current.label_schema, user=lead)
    )
    assert queue.next_task(project=project, user=ann1).sop.version == current.version + 1


def test_a_changed_lease_length_applies_to_the_very_next_lease(labeling):
    project, _, ann1, _ = labeling
    make_tasks(project, 1)
    project.labeling_policy.lease_minutes = 90
    project.labeling_policy.save()
    lease = queue.next_task(project=project, user=ann1)
    assert lease.lease_expires_at > timezone.now() + timedelta(minutes=85)
