"""The labeling queue: next task under a lease, submit, skip. Safe under concurrent annotators.

A lease reserves one slot of a task (a task wants ``required_annotations`` submissions) for
one annotator until it expires. Two annotators racing for the last slot: each candidate task
row is locked (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers)
and its free slots are counted again under the lock, so only one of them gets it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from annotate.labeling import clean_label, validate_label
from annotate.models import SOP, Annotation, Assignment, Task
from annotate.services.common import LabelInvalid, policy_for, queue_settings
from annotate.services.review import task_settle
from annotate.services.sops import sop_schema
from flywheel.errors import Conflict, InvalidInput, NotFound
from flywheel.models import Observation, Project

LEASE_LOST = (
    "Your lease on this task ended ({why}); the task went back to the queue and your answer was "
    "not saved. Take the next task."
)
NOT_YOURS = "No open assignment {id} of yours."
SKIP_NEEDS_REASON = "Say why you skip (e.g. 'not enough context', 'not my language')."

__all__ = ["LabelInvalid", "next_task", "policy_for", "skip", "submit"]

# Lapsed leases are swept at most this often per project and process; and always before anyone
# is told the queue is empty, so a lapsed lease never keeps a slot from someone who wants work.
LEASE_SWEEP_SECONDS = 15.0
_last_sweep: dict[int, float] = {}  # project pk -> time.monotonic() of this process's last sweep


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
    _last_sweep[project.pk] = time.monotonic()
    lapsed = Assignment.objects.filter(
        task__project=project, status=Assignment.Status.LEASED, lease_expires_at__lte=now
    ).values_list("pk", "task_id", "return_comment")[:1000]
    expired = 0
    for pk, task_id, returned in lapsed:
        with transaction.atomic():
            status = Assignment.Status.RETURNED if returned else Assignment.Status.EXPIRED
            # Still lapsed: its annotator may have taken the rework up again since it was listed.
            won = Assignment.objects.filter(
                pk=pk, status=Assignment.Status.LEASED, lease_expires_at__lte=now
            ).update(status=status, finished_at=None if returned else now)
            if won and not returned:
                Task.objects.filter(pk=task_id).update(leased_count=F("leased_count") - 1)
            expired += won
    return expired


def _sweep_due(project: Project) -> bool:
    return time.monotonic() - _last_sweep.get(project.pk, float("-inf")) >= LEASE_SWEEP_SECONDS


def _held_or_returned(project: Project, user: Any) -> Assignment | None:
    """The live lease, else the oldest rework a lead sent back (a lapsed lease on rework is still
    rework): one query for all of them."""
    now = timezone.now()
    live = Q(status=Assignment.Status.LEASED, lease_expires_at__gt=now)
    lapsed_rework = Q(status=Assignment.Status.LEASED, lease_expires_at__lte=now) & ~Q(return_comment="")
    return (
        Assignment.objects.filter(task__project=project, annotator=user)
        .filter(live | Q(status=Assignment.Status.RETURNED) | lapsed_rework)
        .select_related("task__trace", "task__cluster", "sop")
        .order_by(Case(When(live, then=Value(0)), default=Value(1)), "pk")  # the live lease, then rework
        .first()
    )


def _is_live(assignment: Assignment) -> bool:
    return assignment.status == Assignment.Status.LEASED and assignment.lease_expires_at > timezone.now()


def next_task(*, project: Project, user: Any, rng: random.Random | None = None) -> Assignment | None:
    """The annotator's current lease, else their returned rework (it comes before new work),
    else a new lease on the highest-priority free task (or None)."""
    held = _held_or_returned(project, user)
    if held is not None and _is_live(held):
        return held
    policy, sop = queue_settings(project)
    expires = timezone.now() + timedelta(minutes=policy.lease_minutes)
    kinds = [Task.Kind.NORMAL]
    if (rng or random).random() < policy.gold_rate:
        kinds.insert(0, Task.Kind.GOLD)  # gold tasks look like any other to the annotator
    swept = _sweep_due(project)
    if swept:
        expire_leases(project)
    lease = _take(project, user, held, kinds, sop, expires)
    if lease is None and not swept and expire_leases(project):
        # Nothing free, and lapsed leases held slots: they are back in the queue now.
        lease = _take(project, user, None, kinds, sop, expires)
    return lease


def _take(
    project: Project, user: Any, held: Assignment | None, kinds: Sequence[str], sop: SOP, expires: datetime
) -> Assignment | None:
    if held is not None:
        # Its slot is still reserved (see review_reject); the rework follows the current SOP.
        taken = (
            Assignment.objects.filter(pk=held.pk)
            .filter(
                Q(status=Assignment.Status.RETURNED)
                | Q(status=Assignment.Status.LEASED, lease_expires_at__lte=timezone.now())
            )
            .update(status=Assignment.Status.LEASED, lease_expires_at=expires, sop=sop)
        )
        if taken:
            held.status, held.lease_expires_at, held.sop = Assignment.Status.LEASED, expires, sop
            return held
    for kind in kinds:
        lease = _lease_first_free(project, user, kind, sop, expires)
        if lease is not None:
            return lease
    return None


# The PostgreSQL pop: lock the best free task row (rows another annotator is leasing right now
# are skipped, not waited for), insert the lease and count it on the task, in one statement and
# one round trip. The counters are read under the row lock, so a slot is never handed out twice;
# two tabs of one annotator racing for one task: the unique (task, annotator, round) makes the
# second insert nothing, and then nothing is counted either.
#
# A lease commits without waiting for the disk (synchronous_commit off for its transaction only;
# fsync spikes of 100-300 ms were most of next-task's tail under load). A database crash can then
# forget the leases of its last half second, whole: the lease and its count together, never one
# of them. Those annotators' next submit says the lease ended and the task is back in the queue.
# A label is never at risk: submit commits durably, and that flushes every earlier lease too.
_POP = """
WITH picked AS (
    SELECT t.id, t.round FROM {task} t
    WHERE t.project_id = %(project)s AND t.status = %(open)s AND t.kind = %(kind)s
      AND t.submitted_count < t.required_annotations - t.leased_count
      AND NOT EXISTS (SELECT 1 FROM {assignment} a
                      WHERE a.task_id = t.id AND a.annotator_id = %(user)s AND a.round = t.round)
    ORDER BY t.priority DESC, t.id
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED
), lease AS (
    INSERT INTO {assignment} (task_id, annotator_id, status, round, sop_id, leased_at,
                              lease_expires_at, finished_at, skip_reason, return_comment)
    SELECT id, %(user)s, %(leased)s, round, %(sop)s, %(now)s, %(expires)s, NULL, '', '' FROM picked
    ON CONFLICT DO NOTHING
    RETURNING id, task_id
), counted AS (
    UPDATE {task} SET leased_count = leased_count + 1 WHERE id IN (SELECT task_id FROM lease)
)
SELECT id, set_config('synchronous_commit', 'off', true) FROM lease
"""


def _lease_first_free(project: Project, user: Any, kind: str, sop: SOP, expires: Any) -> Assignment | None:
    if connection.vendor == "postgresql":
        return _pop_postgresql(project, user, kind, sop, expires)
    # Elsewhere (SQLite: no INSERT inside WITH) the same steps, one query each, in a transaction.
    skip_locked = connection.features.has_select_for_update_skip_locked
    try:
        with transaction.atomic():
            # Rows another annotator is leasing right now are skipped, not waited for; the
            # counters are re-read under the row lock, so a slot is never handed out twice.
            # The trace and cluster come along: they are what the annotator's view shows.
            task = (
                Task.objects.select_for_update(skip_locked=skip_locked, of=("self",))
                .select_related("trace", "cluster")
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
            task.leased_count += 1
        return lease
    except IntegrityError:
        return None  # this annotator already had it (a double click from two tabs)


def _pop_postgresql(project: Project, user: Any, kind: str, sop: SOP, expires: Any) -> Assignment | None:
    sql = _POP.format(task=Task._meta.db_table, assignment=Assignment._meta.db_table)
    params = {
        "project": project.pk,
        "open": Task.Status.OPEN,
        "kind": kind,
        "user": user.pk,
        "leased": Assignment.Status.LEASED,
        "sop": sop.pk,
        "now": timezone.now(),
        "expires": expires,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    # What the annotator's view shows comes along (the task's counters as just updated).
    return Assignment.objects.select_related("task__trace", "task__cluster", "sop").get(pk=row[0])


def _own_assignment(assignment_id: int, user: Any, *, lock_task: bool = False) -> Assignment:
    """The caller's assignment, locked, with everything a submit reads, in one query.

    ``lock_task`` locks the task row too, so the task's counters read here stay true until commit.
    """
    newest_generation = (
        Observation.objects.filter(trace=OuterRef("task__trace"), type="GENERATION")
        .order_by("-start_time")
        .values("external_id")[:1]
    )
    assignment = (
        # of=: lock the assignment (and task) rows only (PostgreSQL refuses to lock the nullable
        # side of the outer joins select_related makes).
        Assignment.objects.select_for_update(of=("self", "task") if lock_task else ("self",))
        .select_related("task__trace__source", "task__cluster", "task__project", "sop")
        .annotate(generation_id=Subquery(newest_generation))
        .filter(pk=assignment_id, annotator=user)
        .first()
    )
    if assignment is None:
        raise NotFound(NOT_YOURS.format(id=assignment_id))
    assignment.annotator = user  # the filter made sure
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
        assignment = _own_assignment(assignment_id, user, lock_task=True)
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
        # The task row is locked (see _own_assignment): its counters are current.
        task.submitted_count += 1
        task.leased_count = max(0, task.leased_count - 1)
        full = task.kind == Task.Kind.NORMAL and task.submitted_count >= task.required_annotations
        if full:
            task.status = Task.Status.DONE
        Task.objects.filter(pk=task.pk).update(
            submitted_count=task.submitted_count, leased_count=F("leased_count") - 1, status=task.status
        )
        if full:
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
    if hasattr(assignment, "generation_id"):  # read with the assignment (see _own_assignment)
        observation_id = getattr(assignment, "generation_id")  # noqa: B009 - an annotation mypy can't see
    else:
        generation = trace.observations.filter(type="GENERATION").order_by("-start_time").first()
        observation_id = generation.external_id if generation else None
    return {
        "project": task.project.name,
        "source": trace.source.name,
        "source_id": trace.external_id,
        "observation_id": observation_id,
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
