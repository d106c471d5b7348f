"""Review: consensus when a task is fully labeled, then the lead's accept, fix, reject; re-queues.

Every decision is one transaction that locks the task row, so two leads deciding the same item
cannot both win: the second gets a Conflict naming who decided. A final label becomes a
:class:`Sample`; every decision (the consensus rule's too) is a :class:`ReviewAction`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from annotate.labeling import clean_label, validate_label
from annotate.labeling.schema import LabelSchema
from annotate.models import SOP, Annotation, Assignment, ReviewAction, Sample, Task
from annotate.review import label_consensus, sample_content
from annotate.services.common import LabelInvalid, policy_for, stable_share
from annotate.services.sops import sop_current, sop_schema
from flywheel.errors import Conflict, InvalidInput, NotFound
from flywheel.models import Project

ALREADY_DECIDED = "Task {task} already has a final label (decided {how}); nothing changed."
NOT_PENDING = "Task {task} is not waiting for review (it is still being labeled)."
NO_SUCH_ANNOTATION = "Annotation {annotation} is not an active annotation of task {task}."
REJECT_NEEDS_COMMENT = "Say what is wrong: the annotator sees your comment when the task comes back."
NO_TASK = "No task {task} in project '{project}'."
LINEAGE_FROM_VALUES = ("task_type", "difficulty", "domain", "sample_type", "must_refuse")


def active_annotations(task: Task) -> QuerySet[Annotation]:
    return (
        Annotation.objects.filter(task=task, round=task.round, status=Annotation.Status.ACTIVE)
        .select_related("annotator", "sop")
        .order_by("created_at", "pk")
    )


def newest_sop(annotations: Sequence[Annotation]) -> SOP:
    return max((a.sop for a in annotations), key=lambda sop: sop.version)


def task_settle(*, task: Task) -> Sample | None:
    """A task has all its annotations: the consensus rule decides, or it waits for a lead.

    Runs inside the submit's transaction. Single-annotated tasks always wait; a stable share of
    them (``review_sample_rate``) goes before the rest of the queue.
    """
    votes = list(active_annotations(task))
    if not votes:
        return None
    if len(votes) >= 2:
        sop = newest_sop(votes)
        outcome = label_consensus(sop_schema(sop), [a.values for a in votes])
        if outcome.reached:
            assert outcome.values is not None
            return _finalise(
                task=task,
                values=outcome.values,
                sop=sop,
                decision=Sample.Decision.CONSENSUS,
                basis=votes[outcome.agreeing[0]],
                votes=votes,
                reviewer=None,
                kind=ReviewAction.Kind.CONSENSUS,
                comment=outcome.summary(),
            )
        bucket, note = Task.Bucket.DISAGREEMENT, outcome.summary()[:300]
    else:
        rate = policy_for(task.project).review_sample_rate
        sampled = stable_share(task.trace.external_id, salt="review") < rate
        bucket, note = (Task.Bucket.SAMPLED if sampled else Task.Bucket.REST), ""
    Task.objects.filter(pk=task.pk).update(review=Task.Review.PENDING, review_bucket=bucket, review_note=note)
    task.review, task.review_bucket, task.review_note = Task.Review.PENDING, bucket, note
    return None


def review_accept(
    *, project: Project, task_id: int, annotation_id: int, reviewer: Any, comment: str = ""
) -> Sample:
    """The lead accepts one annotation as it stands: its label becomes the final one."""
    with transaction.atomic():
        task = _pending_task(project, task_id)
        votes = list(active_annotations(task))
        chosen = next((a for a in votes if a.pk == annotation_id), None)
        if chosen is None:
            raise NotFound(NO_SUCH_ANNOTATION.format(annotation=annotation_id, task=task_id))
        return _finalise(
            task=task,
            values=chosen.values,
            sop=chosen.sop,
            decision=Sample.Decision.ACCEPTED,
            basis=chosen,
            votes=votes,
            reviewer=reviewer,
            kind=ReviewAction.Kind.ACCEPT,
            comment=comment,
        )


def review_fix(
    *, project: Project, task_id: int, values: dict[str, Any], reviewer: Any, comment: str = ""
) -> Sample:
    """The lead's own label becomes final, validated by the schema the annotators followed."""
    with transaction.atomic():
        task = _pending_task(project, task_id)
        votes = list(active_annotations(task))
        sop = newest_sop(votes) if votes else sop_current(project)
        schema = sop_schema(sop)
        errors = validate_label(schema, values, output_format=task.output_format)
        if errors:
            raise LabelInvalid(errors)
        return _finalise(
            task=task,
            values=clean_label(schema, values),
            sop=sop,
            decision=Sample.Decision.FIXED,
            basis=votes[0] if votes else None,
            votes=votes,
            reviewer=reviewer,
            kind=ReviewAction.Kind.FIX,
            comment=comment,
        )


def review_reject(
    *, project: Project, task_id: int, annotation_id: int, reviewer: Any, comment: str
) -> Annotation:
    """Sends one annotation back to its annotator with the comment; the task waits for the rework.

    The annotation is kept (``rejected``); the rework is a new annotation. The slot stays
    reserved for the same annotator, who gets it before any new task.
    """
    if not comment.strip():
        raise InvalidInput(REJECT_NEEDS_COMMENT)
    with transaction.atomic():
        task = _pending_task(project, task_id)
        annotation = active_annotations(task).filter(pk=annotation_id).first()
        if annotation is None:
            raise NotFound(NO_SUCH_ANNOTATION.format(annotation=annotation_id, task=task_id))
        annotation.status = Annotation.Status.REJECTED
        annotation.save(update_fields=["status"])
        Assignment.objects.filter(pk=annotation.assignment_id).update(
            status=Assignment.Status.RETURNED, return_comment=comment.strip(), finished_at=None
        )
        Task.objects.filter(pk=task.pk).update(
            submitted_count=F("submitted_count") - 1,
            leased_count=F("leased_count") + 1,
            status=Task.Status.OPEN,
            review=Task.Review.NONE,
            review_note="",
        )
        ReviewAction.objects.create(
            project=project,
            task=task,
            annotation=annotation,
            actor=reviewer,
            kind=ReviewAction.Kind.REJECT,
            comment=comment.strip(),
        )
        return annotation


def review_bulk_accept(
    *, project: Project, reviewer: Any, bucket: int | None = None, limit: int | None = None
) -> int:
    """Accepts every pending single-annotated task (of one bucket) as labeled; disagreements never."""
    pending = Task.objects.filter(project=project, review=Task.Review.PENDING).exclude(
        review_bucket=Task.Bucket.DISAGREEMENT
    )
    if bucket is not None:
        pending = pending.filter(review_bucket=bucket)
    ids = list(pending.order_by("review_bucket", "-priority", "id").values_list("pk", flat=True)[:limit])
    accepted = 0
    for task_id in ids:
        with transaction.atomic():
            task = Task.objects.select_for_update().filter(pk=task_id, review=Task.Review.PENDING).first()
            votes = list(active_annotations(task)) if task else []
            if task is None or len(votes) != 1:
                continue  # decided meanwhile, or no longer single-annotated
            _finalise(
                task=task,
                values=votes[0].values,
                sop=votes[0].sop,
                decision=Sample.Decision.BULK,
                basis=votes[0],
                votes=votes,
                reviewer=reviewer,
                kind=ReviewAction.Kind.BULK_ACCEPT,
                comment="",
            )
            accepted += 1
    return accepted


def outdated_tasks(project: Project) -> QuerySet[Task]:
    """Labeled tasks (pending or final) whose annotations followed an SOP older than the current one."""
    current = sop_current(project)
    return (
        Task.objects.filter(
            project=project,
            kind=Task.Kind.NORMAL,
            review__in=[Task.Review.PENDING, Task.Review.FINAL],
            annotations__status=Annotation.Status.ACTIVE,
            annotations__round=F("round"),
            annotations__sop__version__lt=current.version,
        )
        .distinct()
        .order_by("pk")
    )


def requeue(*, project: Project, user: Any, task_ids: Sequence[int] | None = None) -> int:
    """Puts outdated tasks back in the labeling queue under the current SOP, as a new round.

    Their annotations become ``superseded`` and their final label (if any) too; both are kept.
    """
    candidates = outdated_tasks(project)
    if task_ids is not None:
        candidates = candidates.filter(pk__in=list(task_ids))
    done = 0
    for task_id in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            task = Task.objects.select_for_update().get(pk=task_id)
            Annotation.objects.filter(task=task, round=task.round).update(status=Annotation.Status.SUPERSEDED)
            Sample.objects.filter(task=task, round=task.round).update(status=Sample.Status.SUPERSEDED)
            Task.objects.filter(pk=task.pk).update(
                round=F("round") + 1,
                submitted_count=0,
                leased_count=0,
                status=Task.Status.OPEN,
                review=Task.Review.NONE,
                review_bucket=Task.Bucket.REST,
                review_note="",
            )
            ReviewAction.objects.create(
                project=project, task=task, actor=user, kind=ReviewAction.Kind.REQUEUE, comment=""
            )
            done += 1
    return done


def _pending_task(project: Project, task_id: int) -> Task:
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("trace__source", "cluster", "project")
        .filter(pk=task_id, project=project)
        .first()
    )
    if task is None:
        raise NotFound(NO_TASK.format(task=task_id, project=project.name))
    if task.review == Task.Review.FINAL:
        last = ReviewAction.objects.filter(task=task).exclude(kind=ReviewAction.Kind.REJECT).first()
        who = f"by {last.actor.get_username()}" if last and last.actor else "by consensus"
        raise Conflict(ALREADY_DECIDED.format(task=task_id, how=who))
    if task.review != Task.Review.PENDING:
        raise Conflict(NOT_PENDING.format(task=task_id))
    return task


def _finalise(
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
    schema: LabelSchema = sop_schema(sop)
    trace = task.trace
    content = sample_content(
        schema=schema, values=values, conversation=trace.conversation, model_answer=task.model_answer
    )
    now = timezone.now()
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
    sample = Sample.objects.create(
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
    Task.objects.filter(pk=task.pk).update(review=Task.Review.FINAL, review_note="")
    task.review = Task.Review.FINAL
    ReviewAction.objects.create(
        project=task.project,
        task=task,
        sample=sample,
        annotation=basis if decision != Sample.Decision.FIXED else None,
        actor=reviewer,
        kind=kind,
        comment=comment[:2000],
        values=values,
    )
    return sample
