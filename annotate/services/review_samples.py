"""A final label becomes a :class:`Sample` (frozen prompt, answer, lineage) and a :class:`ReviewAction`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from annotate.labeling.schema import LabelSchema
from annotate.models import SOP, Annotation, ReviewAction, Sample, Task
from annotate.review import sample_content
from annotate.services.sops import sop_schema

LINEAGE_FROM_VALUES = ("task_type", "difficulty", "domain", "sample_type", "must_refuse")


def active_annotations(task: Task) -> QuerySet[Annotation]:
    """The annotations of the task's current round that count: oldest first."""
    return (
        Annotation.objects.filter(task=task, round=task.round, status=Annotation.Status.ACTIVE)
        .select_related("annotator", "sop")
        .order_by("created_at", "pk")
    )


def build_sample(
    *,
    task: Task,
    values: dict[str, Any],
    sop: SOP,
    schema: LabelSchema,
    decision: str,
    basis: Annotation | None,
    votes: Sequence[Annotation],
    reviewer: Any,
    now: datetime,
) -> Sample:
    """The (unsaved) sample a final label makes; ``basis`` is the annotation whose lineage it keeps."""
    trace = task.trace
    content = sample_content(
        schema=schema, values=values, conversation=trace.conversation, model_answer=task.model_answer
    )
    key = f"{trace.source.name}:{trace.external_id}"
    lineage = {
        **(basis.lineage if basis else {}),
        **{name: values.get(name) for name in LINEAGE_FROM_VALUES},
        "annotator": basis.annotator.get_username() if basis else None,
        "reviewer": reviewer.get_username() if reviewer else None,
        "decision": decision,
        "sop_version": sop.version,
        "round": task.round,
        "output_format": task.output_format,
    }
    return Sample(
        project=task.project,
        task=task,
        round=task.round,
        trace=trace,
        origin=Sample.Origin.ANNOTATION,
        status=Sample.Status.FINAL,
        decision=decision,
        item_key=key,
        group_key=f"trace:{key}",
        prompt=content.prompt,
        answer=content.answer,
        rejected_answer=content.rejected_answer,
        output_format=task.output_format,
        values=values,
        lineage=lineage,
        sop=sop,
        annotators=sorted({a.annotator.get_username() for a in votes}),
        reviewer=reviewer,
        content_hash=content.content_hash,
        decided_at=now,
    )


def decision_action(
    *, sample: Sample, basis: Annotation | None, reviewer: Any, kind: str, comment: str = ""
) -> ReviewAction:
    """The (unsaved) history entry of the decision that made ``sample`` final."""
    return ReviewAction(
        project=sample.project,
        task=sample.task,
        sample=sample,
        annotation=basis if sample.decision != Sample.Decision.FIXED else None,
        actor=reviewer,
        kind=kind,
        comment=comment[:2000],
        values=sample.values,
    )


def finalise(
    *,
    task: Task,
    values: dict[str, Any],
    sop: SOP,
    decision: str,
    basis: Annotation | None,
    votes: Sequence[Annotation],
    reviewer: Any,
    kind: str,
    comment: str,
) -> Sample:
    """Records one final label: the sample, the task's review state, the history entry."""
    sample = build_sample(
        task=task,
        values=values,
        sop=sop,
        schema=sop_schema(sop),
        decision=decision,
        basis=basis,
        votes=votes,
        reviewer=reviewer,
        now=timezone.now(),
    )
    sample.save()
    Task.objects.filter(pk=task.pk).update(review=Task.Review.FINAL, review_note="")
    task.review = Task.Review.FINAL
    decision_action(sample=sample, basis=basis, reviewer=reviewer, kind=kind, comment=comment).save()
    return sample
