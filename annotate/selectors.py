"""Reads for the labeling pages: progress, the queue's length."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from annotate.models import Annotation, Assignment, Task
from flywheel.models import Project


def progress(*, project: Project, user: Any) -> dict[str, int]:
    start_of_day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    now = timezone.now()
    done_today = Annotation.objects.filter(
        task__project=project, annotator=user, created_at__gte=start_of_day
    )
    active = Q(assignments__status=Assignment.Status.SUBMITTED) | Q(
        assignments__status=Assignment.Status.LEASED, assignments__lease_expires_at__gt=now
    )
    left = (
        Task.objects.filter(project=project, status=Task.Status.OPEN, kind=Task.Kind.NORMAL)
        .exclude(assignments__annotator=user)
        .annotate(taken=Count("assignments", filter=active))
        .filter(taken__lt=F("required_annotations"))
    )
    return {"done_today": done_today.count(), "left": left.count()}
