"""Stored labels for the agreement tests: annotations as the labeling queue leaves them, at chosen times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN, clean_label
from annotate.models import SOP, Annotation, Assignment, Task
from annotate.services.review import task_settle
from annotate.services.sops import sop_current, sop_publish, sop_save_draft, sop_schema

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)  # ISO week 2026-W10


def label(
    task: Task,
    user: Any,
    values: dict[str, Any],
    *,
    when: datetime | None = None,
    sop: SOP | None = None,
    seconds: float = 30.0,
    status: str = Annotation.Status.ACTIVE,
) -> Annotation:
    """One submitted label of ``task`` in its current round, stored as the queue stores it."""
    sop = sop or sop_current(task.project)
    clean = clean_label(sop_schema(sop), {"verdict": "good", "sample_type": "golden", **values})
    now = timezone.now()
    assignment, _ = Assignment.objects.get_or_create(
        task=task,
        annotator=user,
        round=task.round,
        defaults={
            "sop": sop,
            "status": Assignment.Status.SUBMITTED,
            "lease_expires_at": now,
            "finished_at": now,
        },
    )
    annotation = Annotation.objects.create(
        task=task,
        assignment=assignment,
        round=task.round,
        annotator=user,
        sop=sop,
        values=clean,
        lineage={"annotator": user.get_username(), "sop_version": sop.version},
        seconds_spent=seconds,
        status=status,
    )
    if when is not None:
        Annotation.objects.filter(pk=annotation.pk).update(created_at=when)
        annotation.created_at = when
    Task.objects.filter(pk=task.pk).update(
        submitted_count=Annotation.objects.filter(
            task=task, round=task.round, status=Annotation.Status.ACTIVE
        ).count()
    )
    return annotation


def settle(task: Task) -> None:
    """The review service's consensus step, as submit runs it when the task is full."""
    task_settle(task=Task.objects.select_related("trace__source", "project").get(pk=task.pk))


def publish_sop(project: Any, user: Any, *, schema: str = DEFAULT_SCHEMA_YAML) -> SOP:
    draft = sop_save_draft(project=project, body=DEFAULT_SOP_MARKDOWN, label_schema=schema, user=user)
    return sop_publish(sop=draft)
