"""The checks of an annotation import, a batch of rows at a time (see :mod:`.annotation_import`).

Each row is judged on its own columns, then against the database (its task, the annotator's
membership, the SOP version it names, what is stored already) with a few queries per batch.
Messages name the row's column; they quote ids and names, never a label's text.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from annotate.annotations_file import RawRow
from annotate.labeling import clean_label, validate_label
from annotate.labeling.model import FieldType, LabelSchema
from annotate.models import SOP, Annotation, Assignment, Membership, Task
from annotate.services.sops import sop_schema
from flywheel.models import Project
from flywheel.rules.parse import got

BAD_STATUS = "must be active, rejected or superseded (got {value})"
BAD_KIND = "must be normal or gold (got {value})"
NEEDS_TASK = "names no task: give trace_id (or task, its id in this project)"
NO_TASK = "no {kind} task of trace {trace!r} in project '{project}'"
NO_TASK_ID = "no task {task} in project '{project}'"
AMBIGUOUS = "trace {trace!r} has a task in {n} sources of this project; add the source column to pick one"
REQUIRED = "is required"
NO_USER = "no user {name!r}"
NOT_MEMBER = "{name!r} is not a member of project '{project}'"
BAD_SOP = "must be a published SOP version of this project ({versions}; got {value})"
BAD_TIME = "must be an ISO 8601 time such as 2026-03-01T09:30:00Z (got {value})"
BAD_SECONDS = "must be a number of seconds, 0 or more (got {value})"
BAD_VALUES = "must be an object of field: value pairs"
NOT_A_LIST = 'must be a JSON list such as ["tone"] (got {value})'
CLOSED = "task {task} is closed (withdrawn by a lead)"
SETTLED = (
    "task {task} is already fully labeled ({state}); a lead re-queues it (new SOP round) before new labels"
)
DIFFERENT = (
    "{name} already labeled task {task} in round {round} with a different label; one label per annotator "
    "and round"
)
IN_PROGRESS = "{name} holds task {task} right now ({status}); let that turn end first"
DUPLICATE = "the same task and annotator as row {row}"
STATUSES = ("active", "rejected", "superseded")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str
    line: int | None = None  # CSV: the file line the row ends on

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class Checked:
    """A row after the checks: errors, or history / already_there, or a new vote to write."""

    row: RawRow
    errors: list[RowError] = field(default_factory=list)
    outcome: str = "new"  # new | history | already_there
    task: Task | None = None
    user: Any = None
    sop: SOP | None = None
    schema: LabelSchema | None = None
    values: dict[str, Any] = field(default_factory=dict)
    submitted_at: datetime = field(default_factory=timezone.now)
    timed: bool = False  # the row gave its own submitted_at
    seconds: float = 0.0
    reuse: int | None = None  # an expired or skipped turn of the same annotator, made the submission
    trace_id: str = ""
    task_ref: int | None = None
    kind: str = Task.Kind.NORMAL

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row.number, column, message, self.row.line))

    def vote(self) -> Vote:
        assert self.task is not None and self.sop is not None and self.outcome == "new" and not self.errors
        return Vote(self.task, self.user, self.sop, self.values, self.submitted_at, self.seconds, self.reuse)


@dataclass(frozen=True)
class Vote:
    """A checked row that becomes a submission: what the import writes."""

    task: Task
    user: Any
    sop: SOP
    values: dict[str, Any]
    submitted_at: datetime
    seconds: float
    reuse: int | None  # the pk of a free turn (expired, skipped) to turn into the submission


class RowChecker:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.sops = {
            s.version: (s, sop_schema(s))
            for s in SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED)
        }
        self.members = set(Membership.objects.filter(project=project).values_list("user_id", flat=True))
        self.users: dict[str, Any] = {}
        self.seen: dict[tuple[int, int], int] = {}

    def check(self, rows: list[RawRow]) -> list[Checked]:
        checked = [self._columns(row) for row in rows]
        live = [c for c in checked if not c.errors and c.outcome == "new"]
        self._find_tasks(live)
        ids = {c.task.pk for c in live if c.task is not None}
        stored, turns = self._stored(ids)
        for c in live:
            if not c.errors:
                self._against_db(c, stored, turns)
        return checked

    def _columns(self, row: RawRow) -> Checked:
        c = Checked(row)
        data = row.data
        status = str(data.get("status") or "active").strip().lower()
        if status not in STATUSES:
            c.fail("status", BAD_STATUS.format(value=got(data.get("status"))))
            return c
        if status != "active":
            c.outcome = "history"
            return c
        self._annotator(c, str(data.get("annotator") or "").strip())
        self._sop(c, data.get("sop_version"))
        kind = str(data.get("kind") or Task.Kind.NORMAL).strip().lower()
        if kind not in Task.Kind.values:
            c.fail("kind", BAD_KIND.format(value=got(data.get("kind"))))
        c.kind = kind
        c.trace_id = str(data.get("trace_id") or "").strip()
        task_ref = str(data.get("task") or "").strip()
        if task_ref.isdigit():
            c.task_ref = int(task_ref)
        if not c.trace_id and c.task_ref is None:
            c.fail("trace_id", NEEDS_TASK)
        self._times(c, data.get("submitted_at"), data.get("seconds"))
        if row.values is None:
            c.fail("values", BAD_VALUES)
        return c

    def _annotator(self, c: Checked, name: str) -> None:
        if not name:
            c.fail("annotator", REQUIRED)
            return
        if name not in self.users:
            model = get_user_model()
            self.users[name] = model.objects.filter(**{model.USERNAME_FIELD: name}).first()
        user = self.users[name]
        if user is None:
            c.fail("annotator", NO_USER.format(name=name[:60]))
        elif not (user.is_superuser or user.pk in self.members):
            c.fail("annotator", NOT_MEMBER.format(name=name[:60], project=self.project.name))
        c.user = user

    def _sop(self, c: Checked, raw: Any) -> None:
        text = str(raw if raw is not None else "").strip()
        version = int(text) if text.isdigit() else None
        if version not in self.sops:
            versions = ", ".join(f"v{v}" for v in sorted(self.sops)) or "none published"
            c.fail("sop_version", BAD_SOP.format(versions=versions, value=got(raw if raw != "" else None)))
            return
        assert version is not None
        c.sop, c.schema = self.sops[version]

    def _times(self, c: Checked, submitted: Any, seconds: Any) -> None:
        if submitted not in (None, ""):
            try:
                moment = datetime.fromisoformat(str(submitted).strip().replace("Z", "+00:00"))
            except ValueError:
                c.fail("submitted_at", BAD_TIME.format(value=got(submitted)))
            else:
                c.submitted_at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                c.timed = True
        if seconds not in (None, ""):
            try:
                c.seconds = float(seconds)
            except (TypeError, ValueError):
                c.seconds = -1.0
            if not 0 <= c.seconds < float("inf"):
                c.fail("seconds", BAD_SECONDS.format(value=got(seconds)))

    def _find_tasks(self, rows: list[Checked]) -> None:
        traces = {c.trace_id for c in rows if c.trace_id}
        refs = {c.task_ref for c in rows if not c.trace_id and c.task_ref is not None}
        tasks = Task.objects.filter(project=self.project).select_related("trace__source", "cluster")
        by_trace: dict[tuple[str, str], list[Task]] = defaultdict(list)
        for task in tasks.filter(trace__external_id__in=traces):
            by_trace[(task.trace.external_id, task.kind)].append(task)
        by_id = tasks.in_bulk(refs)
        for c in rows:
            if not c.trace_id:
                c.task = by_id.get(c.task_ref) if c.task_ref is not None else None
                if c.task is None:
                    c.fail("task", NO_TASK_ID.format(task=c.task_ref, project=self.project.name))
                continue
            found = by_trace.get((c.trace_id, c.kind), [])
            source = str(c.row.data.get("source") or "").strip()
            if len(found) > 1 and source:
                found = [t for t in found if t.trace.source.name == source]
            if len(found) == 1:
                c.task = found[0]
            elif not found:
                c.fail(
                    "trace_id", NO_TASK.format(kind=c.kind, trace=c.trace_id[:128], project=self.project.name)
                )
            else:
                c.fail("source", AMBIGUOUS.format(trace=c.trace_id[:128], n=len(found)))

    def _stored(
        self, ids: set[int]
    ) -> tuple[dict[tuple[int, int], list[tuple]], dict[tuple[int, int, int], tuple]]:
        stored: dict[tuple[int, int], list[tuple]] = defaultdict(list)
        rows = Annotation.objects.filter(task_id__in=ids).values_list(
            "task_id", "annotator_id", "sop__version", "values", "created_at", "status", "round"
        )
        for task_id, user_id, *rest in rows:
            stored[(task_id, user_id)].append(tuple(rest))
        turns = {
            (task_id, user_id, round_): (pk, status)
            for pk, task_id, user_id, round_, status in Assignment.objects.filter(
                task_id__in=ids
            ).values_list("pk", "task_id", "annotator_id", "round", "status")
        }
        return stored, turns

    def _against_db(self, c: Checked, stored: dict, turns: dict) -> None:
        task, user, schema = c.task, c.user, c.schema
        assert task is not None and schema is not None and c.sop is not None
        values = self._typed(c, schema)
        if c.errors:
            return
        errors = validate_label(schema, values, output_format=task.output_format)
        for name, messages in errors.items():
            for message in messages:
                c.fail(f"values.{name}", message)
        if c.errors:
            return
        c.values = clean_label(schema, values)
        mine = stored.get((task.pk, user.pk), [])
        # The very row again (its own time given), whatever became of it since; or the same label
        # already in the current round.
        same_row = c.timed and any(
            version == c.sop.version and values_ == c.values and when == c.submitted_at
            for version, values_, when, _, _ in mine
        )
        current = [
            v
            for _, v, _, status, round_ in mine
            if status == Annotation.Status.ACTIVE and round_ == task.round
        ]
        if same_row or c.values in current:
            c.outcome = "already_there"
            return
        name = user.get_username()
        if current:
            c.fail("annotator", DIFFERENT.format(name=name, task=task.pk, round=task.round))
            return
        key = (task.pk, user.pk)
        if key in self.seen:
            c.fail("annotator", DUPLICATE.format(row=self.seen[key]))
            return
        self.seen[key] = c.row.number
        if task.status == Task.Status.CLOSED:
            c.fail("trace_id", CLOSED.format(task=task.pk))
        elif task.review:
            c.fail("trace_id", SETTLED.format(task=task.pk, state=task.get_review_display().lower()))
        turn = turns.get((task.pk, user.pk, task.round))
        if turn is not None:
            pk, status = turn
            if status in (Assignment.Status.LEASED, Assignment.Status.RETURNED):
                c.fail("annotator", IN_PROGRESS.format(name=name, task=task.pk, status=status))
            else:
                c.reuse = pk  # skipped, expired (or submitted and since superseded): the turn is free

    def _typed(self, c: Checked, schema: LabelSchema) -> dict[str, Any]:
        """The row's values as the label form gives them; CSV lists are JSON text."""
        raw = c.row.values or {}
        if not c.row.from_csv:
            return dict(raw)
        known = set(schema.names)
        values: dict[str, Any] = {}
        for name, text in raw.items():
            if name not in known:
                if text.strip():
                    values[name] = text  # validate_label names the unknown field
                continue
            if schema.field(name).type is FieldType.MULTI_CHOICE:
                values[name] = self._list(c, name, text)
            else:
                values[name] = text
        return values

    def _list(self, c: Checked, name: str, text: str) -> list[Any] | None:
        if not text.strip():
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list):
            c.fail(f"values.{name}", NOT_A_LIST.format(value=got(text)))
            return None
        return value
