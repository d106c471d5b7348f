"""After a decision: a lead reopens a final label (it goes back to the review queue) or discards the
item from every future release (e.g. the export's PII gate found something in it).

Both keep the history: the old sample stays, ``superseded`` or ``discarded``, and the seed's
variants, derived from a label that no longer stands, go with it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from annotate.models import ReviewAction, Sample, Task
from flywheel.errors import Conflict, InvalidInput, NotFound
from flywheel.models import Project

NEEDS_COMMENT = "Say why (the history keeps it): e.g. 'the PII gate flagged a name in the answer'."
NOT_FINAL = "Task {task} has no final label to {what}; it is still being labeled or reviewed."
NOT_DECIDABLE = "Task {task} is still being labeled (or was discarded already); nothing to discard."
NO_TASK = "No task {task} in project '{project}'."


def review_reopen(*, project: Project, task_id: int, reviewer: Any, comment: str) -> Task:
    """The final label is superseded and the item waits for a lead again, first in its bucket.

    ``reviewer`` None: the service did it (the nightly job, when the export's PII gate flagged it).
    """
    with transaction.atomic():
        task, sample = _final(project, task_id, comment, "reopen")
        _retire(sample, Sample.Status.SUPERSEDED)
        who = reviewer.get_username() if reviewer is not None else "the nightly job"
        note = f"reopened by {who}: {comment.strip()}"[:300]
        Task.objects.filter(pk=task.pk).update(
            review=Task.Review.PENDING, review_bucket=Task.Bucket.DISAGREEMENT, review_note=note
        )
        ReviewAction.objects.create(
            project=project,
            task=task,
            sample=sample,
            actor=reviewer,
            kind=ReviewAction.Kind.REOPEN,
            comment=comment.strip()[:2000],
        )
        task.review, task.review_note = Task.Review.PENDING, note
        return task


def review_discard(*, project: Project, task_id: int, reviewer: Any, comment: str) -> Task:
    """The item is decided for good and no release carries it: its final label (if it has one) is
    kept, ``discarded``. A pending item (e.g. reopened after the PII gate flagged it) may be
    discarded too, without a final label."""
    with transaction.atomic():
        if not comment.strip():
            raise InvalidInput(NEEDS_COMMENT)
        task = Task.objects.select_for_update(of=("self",)).filter(pk=task_id, project=project).first()
        if task is None:
            raise NotFound(NO_TASK.format(task=task_id, project=project.name))
        sample = Sample.objects.filter(task=task, round=task.round, status=Sample.Status.FINAL).first()
        if sample is None and task.review != Task.Review.PENDING:
            raise Conflict(NOT_DECIDABLE.format(task=task_id))
        if sample is not None:
            _retire(sample, Sample.Status.DISCARDED)
        note = f"discarded: {comment.strip()}"[:300]
        Task.objects.filter(pk=task.pk).update(review=Task.Review.FINAL, review_note=note)
        ReviewAction.objects.create(
            project=project,
            task=task,
            sample=sample,
            actor=reviewer,
            kind=ReviewAction.Kind.DISCARD,
            comment=comment.strip()[:2000],
        )
        task.review, task.review_note = Task.Review.FINAL, note
        return task


def _final(project: Project, task_id: int, comment: str, what: str) -> tuple[Task, Sample]:
    if not comment.strip():
        raise InvalidInput(NEEDS_COMMENT)
    task = Task.objects.select_for_update(of=("self",)).filter(pk=task_id, project=project).first()
    if task is None:
        raise NotFound(NO_TASK.format(task=task_id, project=project.name))
    sample = Sample.objects.filter(task=task, round=task.round, status=Sample.Status.FINAL).first()
    if task.review != Task.Review.FINAL or sample is None:
        raise Conflict(NOT_FINAL.format(task=task_id, what=what))
    return task, sample


def _retire(sample: Sample, status: str) -> None:
    Sample.objects.filter(Q(pk=sample.pk) | Q(seed=sample)).exclude(status=Sample.Status.SUPERSEDED).update(
        status=status
    )
