"""Review: consensus when a task is fully labeled, then the lead's accept, fix, reject, bulk accept.

Every decision is one transaction that locks the task row, so two leads deciding the same item
cannot both win: the second gets a Conflict naming who decided. A final label becomes a
:class:`Sample`; every decision (the consensus rule's too) is a :class:`ReviewAction`. Re-queues live in
:mod:`annotate.services.review_requeue` (re-exported here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotate.labeling import clean_label, validate_label
from annotate.labeling.schema import LabelSchema
from annotate.models import SOP, Annotation, Assignment, ReviewAction, Sample, Task
from annotate.review import label_consensus
from annotate.services.common import LabelInvalid, policy_for, stable_share
from annotate.services.review_reopen import review_discard, review_reopen
from annotate.services.review_requeue import outdated_tasks, requeue
from annotate.services.review_samples import active_annotations, build_sample, decision_action, finalise
from annotate.services.sops import sop_current, sop_schema
from flywheel.errors import Conflict, InvalidInput, NotFound
from flywheel.models import Project

__all__ = [
    "active_annotations",
    "outdated_tasks",
    "requeue",
    "review_accept",
    "review_bulk_accept",
    "review_discard",
    "review_fix",
    "review_reject",
    "review_reopen",
    "task_settle",
]

ALREADY_DECIDED = "Task {task} already has a final label (decided {how}); nothing changed."
NOT_PENDING = "Task {task} is not waiting for review (it is still being labeled)."
SENT_BACK = (
    "Task {task} was sent back to {annotator} by {lead} for rework; it comes back to the review "
    "queue when the rework is in."
)
NO_SUCH_ANNOTATION = "Annotation {annotation} is not an active annotation of task {task}."
REJECT_NEEDS_COMMENT = "Say what is wrong: the annotator sees your comment when the task comes back."
NO_TASK = "No task {task} in project '{project}'."
BULK_CHUNK = 200


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
            return finalise(
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
        return finalise(
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
    *,
    project: Project,
    task_id: int,
    values: dict[str, Any],
    reviewer: Any,
    comment: str = "",
    based_on: int | None = None,
) -> Sample:
    """The lead's own label becomes final, validated by the schema the annotators followed.

    ``based_on``: the annotation the lead started from (its lineage goes on the sample);
    default the earliest one. Nothing is written when the label is invalid.
    """
    with transaction.atomic():
        task = _pending_task(project, task_id)
        votes = list(active_annotations(task))
        basis = next((a for a in votes if a.pk == based_on), None) if based_on is not None else None
        if based_on is not None and basis is None:
            raise NotFound(NO_SUCH_ANNOTATION.format(annotation=based_on, task=task_id))
        sop = newest_sop(votes) if votes else sop_current(project)
        schema = sop_schema(sop)
        errors = validate_label(schema, values, output_format=task.output_format)
        if errors:
            raise LabelInvalid(errors)
        return finalise(
            task=task,
            values=clean_label(schema, values),
            sop=sop,
            decision=Sample.Decision.FIXED,
            basis=basis or (votes[0] if votes else None),
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
        task = _pending_task(project, task_id, sent_back_ok=True)
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
    *,
    project: Project,
    reviewer: Any,
    bucket: int | None = None,
    limit: int | None = None,
    task_ids: Sequence[int] | None = None,
) -> int:
    """Accepts pending single-annotated tasks as labeled, in queue order; disagreements never.

    ``bucket``, ``task_ids`` narrow the set; ``limit`` caps it (a lead confirms a number).
    Runs in transactions of ``BULK_CHUNK`` tasks, each locking its rows: a task another lead
    decided meanwhile, or that is no longer single-annotated, is skipped.
    """
    pending = Task.objects.filter(project=project, review=Task.Review.PENDING).exclude(
        review_bucket=Task.Bucket.DISAGREEMENT
    )
    if bucket is not None:
        pending = pending.filter(review_bucket=bucket)
    if task_ids is not None:
        pending = pending.filter(pk__in=list(task_ids))
    ids = list(pending.order_by("review_bucket", "-priority", "id").values_list("pk", flat=True)[:limit])
    schemas: dict[int, LabelSchema] = {}  # published SOPs never change: parse each once
    return sum(
        _bulk_accept_chunk(project, reviewer, ids[start : start + BULK_CHUNK], schemas)
        for start in range(0, len(ids), BULK_CHUNK)
    )


def _bulk_accept_chunk(
    project: Project, reviewer: Any, ids: list[int], schemas: dict[int, LabelSchema]
) -> int:
    with transaction.atomic():
        tasks = list(
            Task.objects.select_for_update(of=("self",))
            .select_related("trace__source", "project")
            .filter(pk__in=ids, project=project, review=Task.Review.PENDING)
            .order_by("pk")
        )
        votes: dict[int, list[Annotation]] = defaultdict(list)
        for vote in (
            Annotation.objects.filter(task__in=tasks, round=F("task__round"), status=Annotation.Status.ACTIVE)
            .select_related("annotator", "sop")
            .order_by("created_at", "pk")
        ):
            votes[vote.task_id].append(vote)
        chosen = [(task, votes[task.pk][0]) for task in tasks if len(votes[task.pk]) == 1]
        now = timezone.now()
        samples = []
        for task, vote in chosen:
            if vote.sop_id not in schemas:
                schemas[vote.sop_id] = sop_schema(vote.sop)
            sample = build_sample(
                task=task,
                values=vote.values,
                sop=vote.sop,
                schema=schemas[vote.sop_id],
                decision=Sample.Decision.BULK,
                basis=vote,
                votes=[vote],
                reviewer=reviewer,
                now=now,
            )
            samples.append(sample)
        Sample.objects.bulk_create(samples)
        Task.objects.filter(pk__in=[task.pk for task, _ in chosen]).update(
            review=Task.Review.FINAL, review_note=""
        )
        ReviewAction.objects.bulk_create(
            decision_action(sample=sample, basis=vote, reviewer=reviewer, kind=ReviewAction.Kind.BULK_ACCEPT)
            for sample, (_, vote) in zip(samples, chosen, strict=True)
        )
        return len(chosen)


def _pending_task(project: Project, task_id: int, *, sent_back_ok: bool = False) -> Task:
    """The task, locked, if a lead may decide it now; ``sent_back_ok``: also while another of its
    annotations is out for rework (a lead may send back every annotation of a disagreement)."""
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("trace__source", "cluster", "project")
        .filter(pk=task_id, project=project)
        .first()
    )
    if task is None:
        raise NotFound(NO_TASK.format(task=task_id, project=project.name))
    if task.review == Task.Review.FINAL:
        last = ReviewAction.objects.filter(task=task, sample__isnull=False).select_related("actor").first()
        who = f"by {last.actor.get_username()}" if last and last.actor else "by consensus"
        raise Conflict(ALREADY_DECIDED.format(task=task_id, how=who))
    if task.review != Task.Review.PENDING and sent_back_ok and _out_for_rework(task):
        return task
    if task.review != Task.Review.PENDING:
        last = ReviewAction.objects.filter(task=task).select_related("actor", "annotation__annotator").first()
        if last and last.kind == ReviewAction.Kind.REJECT and last.annotation:
            lead = last.actor.get_username() if last.actor else "a lead"
            annotator = last.annotation.annotator.get_username()
            raise Conflict(SENT_BACK.format(task=task_id, annotator=annotator, lead=lead))
        raise Conflict(NOT_PENDING.format(task=task_id))
    return task


def _out_for_rework(task: Task) -> bool:
    return (
        Assignment.objects.filter(
            task=task, round=task.round, status__in=[Assignment.Status.RETURNED, Assignment.Status.LEASED]
        )
        .exclude(return_comment="")
        .exists()
    )
