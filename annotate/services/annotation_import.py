"""Annotations made offline, imported for existing tasks: all rows valid, or nothing written.

Each row (:mod:`annotate.annotations_file`) becomes what the labeling queue would have made of
it: a submitted :class:`Assignment` and an active :class:`Annotation` in the task's current
round, validated against the SOP version the row names, with queue-style lineage (marked
``imported``). After the last row, each touched task's counters are recounted; a normal task
that now has all its votes is settled by :func:`annotate.services.review.task_settle`
(consensus, or the review queue). When offline overlap exceeds the task's
``required_annotations``, the requirement grows to the votes given: the lead asked for them.

- A task is found by ``trace_id`` (with ``kind``, and ``source`` when ids repeat across
  sources) or, in the project it came from, by ``task``.
- Idempotent: a row already stored (same task, annotator, SOP version, label and time, or the
  same label in the current round) is counted as ``already_there``; a re-import creates nothing.
- Rows of status ``rejected`` or ``superseded`` are history of the project they came from and
  are skipped (``history``).
- Every bad row is reported by number and field (up to :data:`MAX_ERRORS`), and the whole import
  is rolled back: one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import islice
from typing import Any

from django.db import transaction

from annotate.annotations_file import RawRow
from annotate.models import Annotation, Assignment, Task
from annotate.services.annotation_rows import RowChecker, RowError, Vote
from annotate.services.queue import LINEAGE_FROM_VALUES
from annotate.services.review import task_settle
from flywheel.errors import InvalidInput
from flywheel.models import Observation, Project

MAX_ERRORS = 50
BATCH = 500
REJECTED = (
    "{n}{more} row(s) of the file are not valid, so nothing was imported. "
    "First: row {row}, {field}: {message}"
)
HINT = "Fix the rows listed and import the whole file again; rows already in the project are skipped."


class ImportRejected(InvalidInput):
    """Some rows are bad; ``errors`` lists them (row, field, message). Nothing was written."""

    def __init__(self, errors: list[RowError], *, more: bool) -> None:
        first = errors[0]
        message = REJECTED.format(
            n=len(errors), more="+" if more else "", row=first.row, field=first.field, message=first.message
        )
        super().__init__(message, hint=HINT)
        self.errors = errors


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    already_there: int = 0
    history: int = 0  # rejected / superseded rows: not imported
    tasks_touched: int = 0
    tasks_completed: int = 0  # normal tasks that now have all their votes (settled)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Run:
    project: Project
    checker: RowChecker
    result: ImportResult = field(default_factory=ImportResult)
    errors: list[RowError] = field(default_factory=list)
    more_errors: bool = False
    touched: set[int] = field(default_factory=set)


def annotations_import(
    *, project: Project, rows: Iterable[RawRow], progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Imports every row or none (raises :class:`ImportRejected` listing the bad rows)."""
    run = _Run(project=project, checker=RowChecker(project))
    with transaction.atomic():
        for batch in _batches(iter(rows), BATCH):
            _import_batch(run, batch)
            if progress is not None:
                progress(len(batch))
            if len(run.errors) >= MAX_ERRORS:
                run.more_errors = True
                break
        if run.errors:
            raise ImportRejected(run.errors[:MAX_ERRORS], more=run.more_errors)
        run.result.tasks_touched = len(run.touched)
        for task_id in sorted(run.touched):
            run.result.tasks_completed += _complete(task_id)
    return run.result


def _batches(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while batch := list(islice(rows, size)):
        yield batch


def _import_batch(run: _Run, batch: list[RawRow]) -> None:
    run.result.rows += len(batch)
    checked = run.checker.check(batch)
    new: list[Vote] = []
    for item in checked:
        if item.errors:
            run.errors += item.errors
        elif item.outcome == "history":
            run.result.history += 1
        elif item.outcome == "already_there":
            run.result.already_there += 1
        else:
            new.append(item.vote())
    if run.errors or not new:
        return  # keep validating the rest, write nothing: the transaction is rolled back anyway
    _write(run, new)


def _write(run: _Run, votes: list[Vote]) -> None:
    generation = _generations({v.task.trace_id for v in votes})
    fresh = [v for v in votes if v.reuse is None]
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                task=v.task,
                annotator=v.user,
                status=Assignment.Status.SUBMITTED,
                round=v.task.round,
                sop=v.sop,
                lease_expires_at=v.submitted_at,
                finished_at=v.submitted_at,
            )
            for v in fresh
        ]
    )
    by_vote = {id(v): a for v, a in zip(fresh, assignments, strict=True)}
    for v in votes:
        if v.reuse is None:
            continue
        Assignment.objects.filter(pk=v.reuse).update(
            status=Assignment.Status.SUBMITTED,
            sop=v.sop,
            finished_at=v.submitted_at,
            lease_expires_at=v.submitted_at,
        )
    annotations = Annotation.objects.bulk_create(
        [
            Annotation(
                task=v.task,
                assignment_id=v.reuse if v.reuse is not None else by_vote[id(v)].pk,
                round=v.task.round,
                annotator=v.user,
                sop=v.sop,
                values=v.values,
                lineage=_lineage(run.project, v, generation.get(v.task.trace_id)),
                seconds_spent=v.seconds,
            )
            for v in votes
        ]
    )
    # created_at and leased_at are auto_now_add: set to the row's own times after the insert.
    for annotation, v in zip(annotations, votes, strict=True):
        annotation.created_at = v.submitted_at
    Annotation.objects.bulk_update(annotations, ["created_at"])
    for assignment, v in zip(assignments, fresh, strict=True):
        assignment.leased_at = v.submitted_at - timedelta(seconds=v.seconds)
    Assignment.objects.bulk_update(assignments, ["leased_at"])
    run.touched.update(v.task.pk for v in votes)
    run.result.created += len(votes)


def _generations(trace_ids: set[int]) -> dict[int, str]:
    """trace id -> its latest GENERATION observation's id (the queue's lineage names it)."""
    rows = (
        Observation.objects.filter(trace_id__in=trace_ids, type="GENERATION")
        .order_by("trace_id", "-start_time")
        .values_list("trace_id", "external_id")
    )
    out: dict[int, str] = {}
    for trace_id, external_id in rows:
        out.setdefault(trace_id, external_id)
    return out


def _lineage(project: Project, vote: Vote, observation: str | None) -> dict[str, Any]:
    """The keys :func:`annotate.services.queue.lineage` writes (a test holds them equal), + imported."""
    task = vote.task
    submitted = vote.submitted_at
    return {
        "project": project.name,
        "source": task.trace.source.name,
        "source_id": task.trace.external_id,
        "observation_id": observation,
        "cluster": f"C{task.cluster.number}" if task.cluster else None,
        "annotator": vote.user.get_username(),
        "sop_version": vote.sop.version,
        **{key: vote.values.get(key) for key in LINEAGE_FROM_VALUES},
        "augment_type": None,
        "augment_round": None,
        "version": 1,
        "round": task.round,
        "leased_at": (submitted - timedelta(seconds=vote.seconds)).isoformat(),
        "submitted_at": submitted.isoformat(),
        "imported": True,
    }


def _complete(task_id: int) -> int:
    """Recounts a task's votes; settles it when a normal task has them all. 1 if it settled."""
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("trace__source", "project")
        .get(pk=task_id)
    )
    submitted = Annotation.objects.filter(
        task=task, round=task.round, status=Annotation.Status.ACTIVE
    ).count()
    updates: dict[str, Any] = {"submitted_count": submitted}
    if task.kind == Task.Kind.NORMAL:
        updates["required_annotations"] = max(task.required_annotations, submitted + task.leased_count)
    full = task.kind == Task.Kind.NORMAL and submitted >= updates["required_annotations"]
    if full:
        updates["status"] = Task.Status.DONE
    Task.objects.filter(pk=task.pk).update(**updates)
    for key, value in updates.items():
        setattr(task, key, value)
    if full:
        task_settle(task=task)
    return int(full)


__all__ = ["ImportRejected", "ImportResult", "RowError", "annotations_import"]
