"""Reads for the labeling pages: progress, the queue's length."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from annotate.models import Annotation, Task
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
