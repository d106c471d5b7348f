"""Reads for the labeling pages: progress, the queue's length, work a lead sent back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from annotate.models import Annotation, Assignment, ReviewAction, Task
from annotate.services.queue import free_slot, not_mine_this_round
from flywheel.models import Project


def progress(*, project: Project, user: Any) -> dict[str, int]:
    start_of_day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(task__project=project, annotator=user)
    done_today = mine.filter(created_at__gte=start_of_day)
    left = Task.objects.filter(
        free_slot(),
        not_mine_this_round(user),
        project=project,
        status=Task.Status.OPEN,
        kind=Task.Kind.NORMAL,
    )
    return {"done_today": done_today.count(), "left": left.count()}


@dataclass(frozen=True)
class Returned:
    """A submission a lead sent back: the comment, who sent it, and the label it had."""

    assignment: Assignment
    comment: str
    lead: str
    at: Any
    values: dict[str, Any]


def returned_work(*, project: Project, user: Any) -> list[Returned]:
    """What leads sent back to this annotator and is not reworked yet, oldest first."""
    waiting = Assignment.objects.filter(
        task__project=project, annotator=user, status=Assignment.Status.RETURNED
    ).select_related("task")
    return [r for a in waiting.order_by("pk") if (r := rework_of(a)) is not None]


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
    return Returned(
        assignment=assignment,
        comment=assignment.return_comment,
        lead=action.actor.get_username() if action and action.actor else "a lead",
        at=action.created_at if action else None,
        values=rejected.values if rejected else {},
    )
