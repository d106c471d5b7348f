"""Re-queues after a new SOP version: labeled items that followed an older version go back to labeling.

A re-queue starts the task's next round; the round's annotations and final label are kept,
marked ``superseded``, so the history stays whole and releases leave them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet

from annotate.models import Annotation, ReviewAction, Sample, Task
from annotate.services.sops import sop_current
from flywheel.models import Project


def outdated_tasks(project: Project) -> QuerySet[Task]:
    """Labeled tasks (pending or final) whose annotations followed an SOP older than the current one."""
    current = sop_current(project)
    # Driven from the older SOP versions' annotations (an indexed foreign key): when every label
    # follows the current version the answer is immediate, however many tasks the project has.
    older = Annotation.objects.filter(
        sop__project=project,
        sop__version__lt=current.version,
        status=Annotation.Status.ACTIVE,
        round=F("task__round"),
    ).values("task_id")
    return Task.objects.filter(
        pk__in=older,
        project=project,
        kind=Task.Kind.NORMAL,
        review__in=[Task.Review.PENDING, Task.Review.FINAL],
    ).order_by("pk")


def requeue(*, project: Project, user: Any, task_ids: Sequence[int] | None = None) -> int:
    """Puts outdated tasks back in the labeling queue under the current SOP, as a new round.

    Their annotations become ``superseded`` and their final label (if any) too; both are kept.
    """
    candidates = outdated_tasks(project)
    if task_ids is not None:
        candidates = candidates.filter(pk__in=list(task_ids))
    current = sop_current(project)
    done = 0
    for task_id in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            task = Task.objects.select_for_update().get(pk=task_id)
            if task.review not in (Task.Review.PENDING, Task.Review.FINAL):
                continue  # re-queued or sent back meanwhile
            # Rejected annotations stay rejected: the history says what a lead sent back.
            active = Annotation.objects.filter(task=task, round=task.round, status=Annotation.Status.ACTIVE)
            versions = sorted(set(active.values_list("sop__version", flat=True)))
            active.update(status=Annotation.Status.SUPERSEDED)
            # The seed's variants go with it: they were derived from a label that no longer stands.
            Sample.objects.filter(
                Q(task=task, round=task.round) | Q(seed__task=task, seed__round=task.round)
            ).exclude(status=Sample.Status.SUPERSEDED).update(status=Sample.Status.SUPERSEDED)
            Task.objects.filter(pk=task.pk).update(
                round=F("round") + 1,
                submitted_count=0,
                leased_count=0,
                status=Task.Status.OPEN,
                review=Task.Review.NONE,
                review_bucket=Task.Bucket.REST,
                review_note="",
            )
            labeled = ", ".join(f"v{v}" for v in versions)
            ReviewAction.objects.create(
                project=project,
                task=task,
                actor=user,
                kind=ReviewAction.Kind.REQUEUE,
                comment=f"round {task.round + 1} under SOP v{current.version} (labeled under {labeled})",
            )
            done += 1
    return done
