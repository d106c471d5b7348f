"""The labeling queue: next task under a lease, submit, skip. Safe under concurrent annotators.

A lease reserves one slot of a task (a task wants ``required_annotations`` submissions) for
one annotator until it expires. Two annotators racing for the last slot: each candidate task
row is locked (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers)
and its free slots are counted again under the lock, so only one of them gets it.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from annotate.labeling import clean_label, validate_label
from annotate.models import SOP, Annotation, Assignment, Task
from annotate.services.common import LabelInvalid, policy_for
from annotate.services.review import task_settle
from annotate.services.sops import sop_current, sop_schema
from flywheel.errors import Conflict, InvalidInput, NotFound
from flywheel.models import Project

LEASE_LOST = (
    "Your lease on this task ended ({why}); the task went back to the queue and your answer was "
    "not saved. Take the next task."
)
NOT_YOURS = "No open assignment {id} of yours."
SKIP_NEEDS_REASON = "Say why you skip (e.g. 'not enough context', 'not my language')."

__all__ = ["LabelInvalid", "next_task", "policy_for", "skip", "submit"]


def free_slot() -> Q:
    return Q(submitted_count__lt=F("required_annotations") - F("leased_count"))


def not_mine_this_round(user: Any) -> Any:
    """Tasks this annotator has had no turn at in the task's current round (a re-queue starts anew)."""
    return ~Exists(Assignment.objects.filter(task=OuterRef("pk"), annotator=user, round=OuterRef("round")))


def current_lease(*, project: Project, user: Any) -> Assignment | None:
    return (
        Assignment.objects.filter(
            task__project=project,
            annotator=user,
            status=Assignment.Status.LEASED,
            lease_expires_at__gt=timezone.now(),
        )
        .select_related("task__trace", "task__cluster", "sop")
        .first()
    )


def expire_leases(project: Project) -> int:
    """Returns lapsed leases' slots to the queue. Each lease is expired once, whoever races.

    A lapsed lease on returned work (a lead's rejection) goes back to ``returned``: the rework
    stays the annotator's, and its slot stays reserved.
    """
    now = timezone.now()
    lapsed = Assignment.objects.filter(
        task__project=project, status=Assignment.Status.LEASED, lease_expires_at__lte=now
    ).values_list("pk", "task_id", "return_comment")[:1000]
    expired = 0
    for pk, task_id, returned in lapsed:
        with transaction.atomic():
            status = Assignment.Status.RETURNED if returned else Assignment.Status.EXPIRED
            won = Assignment.objects.filter(pk=pk, status=Assignment.Status.LEASED).update(
                status=status, finished_at=None if returned else now
            )
            if won and not returned:
                Task.objects.filter(pk=task_id).update(leased_count=F("leased_count") - 1)
            expired += won
    return expired


def _held_or_returned(project: Project, user: Any) -> Assignment | None:
    """The live lease, else the oldest rework a lead sent back: one query for both."""
    return (
        Assignment.objects.filter(task__project=project, annotator=user)
        .filter(
            Q(status=Assignment.Status.LEASED, lease_expires_at__gt=timezone.now())
            | Q(status=Assignment.Status.RETURNED)
        )
        .select_related("task__trace", "task__cluster", "sop")
        .order_by("status", "pk")  # "leased" sorts before "returned"
        .first()
    )


def next_task(*, project: Project, user: Any, rng: random.Random | None = None) -> Assignment | None:
    """The annotator's current lease, else their returned rework (it comes before new work),
    else a new lease on the highest-priority free task (or None)."""
    held = _held_or_returned(project, user)
    if held is not None and held.status == Assignment.Status.LEASED:
        return held
    policy, sop = policy_for(project), sop_current(project)
    if expire_leases(project) and held is None:
        held = _held_or_returned(project, user)  # a lapsed lease on rework is returned work again
    expires = timezone.now() + timedelta(minutes=policy.lease_minutes)
    if held is not None:
        # Its slot is still reserved (see review_reject); the rework follows the current SOP.
        taken = Assignment.objects.filter(pk=held.pk, status=Assignment.Status.RETURNED).update(
            status=Assignment.Status.LEASED, lease_expires_at=expires, sop=sop
        )
        if taken:
            held.status, held.lease_expires_at, held.sop = Assignment.Status.LEASED, expires, sop
            return held
    kinds = [Task.Kind.NORMAL]
    if (rng or random).random() < policy.gold_rate:
        kinds.insert(0, Task.Kind.GOLD)  # gold tasks look like any other to the annotator
    for kind in kinds:
        lease = _lease_first_free(project, user, kind, sop, expires)
        if lease is not None:
            return lease
    return None


def _lease_first_free(project: Project, user: Any, kind: str, sop: SOP, expires: Any) -> Assignment | None:
    skip_locked = connection.features.has_select_for_update_skip_locked
    try:
        with transaction.atomic():
            # Rows another annotator is leasing right now are skipped, not waited for; the
            # counters are re-read under the row lock, so a slot is never handed out twice.
            task = (
                Task.objects.select_for_update(skip_locked=skip_locked)
                .filter(
                    free_slot(),
                    not_mine_this_round(user),
                    project=project,
                    status=Task.Status.OPEN,
                    kind=kind,
                )
                .order_by("-priority", "id")
                .first()
            )
            if task is None:
                return None
            lease = Assignment.objects.create(
                task=task, annotator=user, sop=sop, lease_expires_at=expires, round=task.round
            )
            Task.objects.filter(pk=task.pk).update(leased_count=F("leased_count") + 1)
        # One query for everything the annotator's view of the task shows.
        return Assignment.objects.select_related("task__trace", "task__cluster", "sop").get(pk=lease.pk)
    except IntegrityError:
        return None  # this annotator already had it (a double click from two tabs)


def _own_assignment(assignment_id: int, user: Any) -> Assignment:
    assignment = (
        # of=("self",): lock the assignment row only (PostgreSQL refuses to lock the nullable side
        # of the outer joins select_related makes).
        Assignment.objects.select_for_update(of=("self",))
        .select_related("task__trace__source", "task__cluster", "sop")
        .filter(pk=assignment_id, annotator=user)
        .first()
    )
    if assignment is None:
        raise NotFound(NOT_YOURS.format(id=assignment_id))
    return assignment


def _check_lease(assignment: Assignment) -> None:
    if assignment.status != Assignment.Status.LEASED:
        raise Conflict(LEASE_LOST.format(why=f"it is {assignment.status}"))
    if assignment.lease_expires_at <= timezone.now():
        raise Conflict(LEASE_LOST.format(why=f"it expired at {assignment.lease_expires_at:%H:%M} UTC"))


def submit(
    *, assignment_id: int, user: Any, values: dict[str, Any], seconds_spent: float = 0.0
) -> Annotation:
    """Validates against the SOP version the annotator was shown, then records it with lineage."""
    with transaction.atomic():
        assignment = _own_assignment(assignment_id, user)
        task = assignment.task
        _check_lease(assignment)
        schema = sop_schema(assignment.sop)
        errors = validate_label(schema, values, output_format=task.output_format)
        if errors:
            raise LabelInvalid(errors)  # nothing written; the lease stays for a corrected submit
        clean = clean_label(schema, values)
        now = timezone.now()
        wall = (now - assignment.leased_at).total_seconds()
        annotation = Annotation.objects.create(
            task=task,
            assignment=assignment,
            round=assignment.round,
            annotator=user,
            sop=assignment.sop,
            values=clean,
            lineage=lineage(task=task, assignment=assignment, values=clean, submitted_at=now),
            seconds_spent=max(0.0, min(float(seconds_spent or wall), wall)),
        )
        assignment.status, assignment.finished_at = Assignment.Status.SUBMITTED, now
        assignment.save(update_fields=["status", "finished_at"])
        Task.objects.filter(pk=task.pk).update(
            submitted_count=F("submitted_count") + 1, leased_count=F("leased_count") - 1
        )
        task.refresh_from_db(fields=["submitted_count"])
        if task.kind == Task.Kind.NORMAL and task.submitted_count >= task.required_annotations:
            Task.objects.filter(pk=task.pk).update(status=Task.Status.DONE)
            task.status = Task.Status.DONE
            task_settle(task=task)
        return annotation


def skip(*, assignment_id: int, user: Any, reason: str) -> Assignment:
    if not reason.strip():
        raise InvalidInput(SKIP_NEEDS_REASON)
    with transaction.atomic():
        assignment = _own_assignment(assignment_id, user)
        _check_lease(assignment)
        assignment.status, assignment.finished_at = Assignment.Status.SKIPPED, timezone.now()
        assignment.skip_reason = reason.strip()[:500]
        assignment.save(update_fields=["status", "finished_at", "skip_reason"])
        Task.objects.filter(pk=assignment.task_id).update(leased_count=F("leased_count") - 1)
        return assignment


LINEAGE_FROM_VALUES = ("task_type", "difficulty", "domain", "sample_type")


def lineage(
    *, task: Task, assignment: Assignment, values: dict[str, Any], submitted_at: Any
) -> dict[str, Any]:
    trace = task.trace
    generation = trace.observations.filter(type="GENERATION").order_by("-start_time").first()
    return {
        "project": task.project.name,
        "source": trace.source.name,
        "source_id": trace.external_id,
        "observation_id": generation.external_id if generation else None,
        "cluster": f"C{task.cluster.number}" if task.cluster else None,
        "annotator": assignment.annotator.get_username(),
        "sop_version": assignment.sop.version,
        **{key: values.get(key) for key in LINEAGE_FROM_VALUES},
        "augment_type": None,
        "augment_round": None,
        "version": 1,
        "round": assignment.round,
        "leased_at": assignment.leased_at.isoformat(),
        "submitted_at": submitted_at.isoformat(),
    }
