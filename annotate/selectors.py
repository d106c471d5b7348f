"""Reads for the labeling pages: progress, the queue's length, work a lead sent back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from annotate.models import Annotation, Assignment, ReviewAction, Task
from annotate.services.queue import free_slot, not_mine_this_round
from flywheel.models import Project

# The labeling screen shows "Left 1000+" beyond this: counting a queue of 100k tasks exactly cost
# ~230 ms on every item shown (bench/load); counting up to the cap walks the queue's index.
LEFT_SHOWN = 1000


def progress(*, project: Project, user: Any) -> dict[str, int]:
    """Done today, and what is left for the user (``left`` at most LEFT_SHOWN; ``left_more``: beyond)."""
    start_of_day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(task__project=project, annotator=user)
    done_today = mine.filter(created_at__gte=start_of_day)
    left = Task.objects.filter(
        free_slot(),
        not_mine_this_round(user),
        project=project,
        status=Task.Status.OPEN,
        kind=Task.Kind.NORMAL,
    ).order_by("-priority", "id")[: LEFT_SHOWN + 1]
    n = left.count()
    return {"done_today": done_today.count(), "left": min(n, LEFT_SHOWN), "left_more": int(n > LEFT_SHOWN)}


@dataclass(frozen=True)
class Returned:
    """A submission a lead sent back: the comment, who sent it, and the label it had."""

    assignment: Assignment
    comment: str
    lead: str
    at: Any
    values: dict[str, Any]


def returned_work(*, project: Project, user: Any) -> list[Returned]:
    """What leads sent back to this annotator and is not reworked yet, oldest first.

    Three queries however much waits: the assignments, their rejected labels, the rejections.
    """
    waiting = list(
        Assignment.objects.filter(task__project=project, annotator=user, status=Assignment.Status.RETURNED)
        .exclude(return_comment="")
        .select_related("task")
        .order_by("pk")
    )
    latest: dict[int, Annotation] = {}
    rejected = Annotation.objects.filter(assignment__in=waiting, status=Annotation.Status.REJECTED)
    for annotation in rejected.order_by("-created_at", "-pk"):
        latest.setdefault(annotation.assignment_id, annotation)
    actions: dict[int, ReviewAction] = {}
    rejections = ReviewAction.objects.filter(
        annotation__in=list(latest.values()), kind=ReviewAction.Kind.REJECT
    ).select_related("actor")
    for action in rejections:  # newest first (the model's ordering), as rework_of takes .first()
        actions.setdefault(action.annotation_id, action)  # type: ignore[arg-type]
    found = [(a, latest.get(a.pk)) for a in waiting]
    return [_returned(a, label, actions.get(label.pk) if label else None) for a, label in found]


def rework_of(assignment: Assignment) -> Returned | None:
    """The lead's comment on this assignment's rejected submission, if it came back for rework."""
    if not assignment.return_comment:
        return None
    rejected = (
        Annotation.objects.filter(assignment=assignment, status=Annotation.Status.REJECTED)
        .order_by("-created_at", "-pk")
        .first()
    )
    action = (
        ReviewAction.objects.filter(annotation=rejected, kind=ReviewAction.Kind.REJECT)
        .select_related("actor")
        .first()
        if rejected
        else None
    )
    return _returned(assignment, rejected, action)


def _returned(assignment: Assignment, rejected: Annotation | None, action: ReviewAction | None) -> Returned:
    return Returned(
        assignment=assignment,
        comment=assignment.return_comment,
        lead=action.actor.get_username() if action and action.actor else "a lead",
        at=action.created_at if action else None,
        values=rejected.values if rejected else {},
    )
