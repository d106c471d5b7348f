"""Ratings from the database, shaped for the agreement core (:mod:`annotate.agreement`).

One pass over the project's annotations with ``values_list(...).iterator()`` (no model instance
per annotation), turning each into one :class:`Rating` per field:

- which fields, their types and choices: the newest published SOP's label schema (free-text
  fields have no agreement and are left out);
- which annotations: ACTIVE ones of the task's current round (a re-queue starts a new round;
  rejected and superseded labels are history), narrowed by the filters (SOP version, cluster,
  submitted between);
- ``gold``: the gold task's known answer; ``final``: the final sample of the same round.

Values an older SOP version allowed but the newest does not know are kept for nominal fields
(the category is appended after the schema's choices) and left out, counted in
``outside_schema``, where the order matters (ordinal) or the type changed.

:class:`Work` records (pace, rejections) come from every submission in the filters, of every
round and status: a rejected annotation counts as a rejected submission.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Func, JSONField, QuerySet

from annotate.agreement import Level, Rating, Work, level_for_field
from annotate.agreement_filters import AgreementFilters
from annotate.labeling.model import FieldType, LabelSchema
from annotate.models import Annotation, Sample, Task
from annotate.services.sops import sop_current, sop_schema
from flywheel.errors import InvalidInput
from flywheel.models import Project
from flywheel.rules.parse import suggest

UNKNOWN_FIELD = (
    "The label schema of SOP v{version} has no field {field!r}{suggestion}; its fields are {fields}."
)
TEXT_FIELD = (
    "Field {field!r} is free text: agreement is computed for choice, multi-choice, bool and number "
    "fields ({fields})."
)

BOUNDARY = "boundary"
SAMPLE_TYPE = "sample_type"
MUST_REFUSE = "must_refuse"
CHUNK = 2000

_DROP = object()  # a value the newest schema cannot place: left out and counted


@dataclass(frozen=True)
class FieldSpec:
    """One field of the schema, as the agreement core needs it."""

    name: str
    label: str
    type: str  # a FieldType value
    level: Level
    categories: tuple[Any, ...] | None  # choice order; (False, True) for bool; None for numbers
    choices: tuple[str, ...] = ()  # the schema's own choices (before values of older SOPs)

    @property
    def multi(self) -> bool:
        return self.type == FieldType.MULTI_CHOICE


@dataclass(frozen=True)
class AgreementSchema:
    sop_version: int
    fields: tuple[FieldSpec, ...]
    min_share: float
    min_votes: int
    has_boundary: bool  # a sample_type field with a "boundary" choice and a must_refuse bool field
    all_names: tuple[str, ...] = ()  # every field of the schema, text fields included
    text_names: tuple[str, ...] = ()  # its text and json fields: never read for agreement

    def spec(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


@dataclass
class RatingData:
    """Everything the dashboard computes from, read once."""

    schema: AgreementSchema
    fields: tuple[FieldSpec, ...]  # the filtered fields, categories extended by older SOPs' values
    ratings: dict[str, list[Rating]]
    work: list[Work]
    boundary_items: frozenset[str]
    outside_schema: dict[str, int]
    n_annotations: int = 0
    n_tasks: int = 0
    annotators: tuple[str, ...] = ()


def agreement_schema(project: Project) -> AgreementSchema:
    """The fields agreement is computed for, from the newest published SOP (NotFound if none)."""
    sop = sop_current(project)
    schema: LabelSchema = sop_schema(sop)
    specs = []
    for f in schema.fields:
        level = level_for_field(f.type.value, ordinal=f.ordinal)
        if level is None:
            continue
        categories: tuple[Any, ...] | None
        if f.type is FieldType.BOOL:
            categories = (False, True)
        elif f.type.has_choices:
            categories = tuple(f.choices)
        else:
            categories = None
        specs.append(
            FieldSpec(
                name=f.name,
                label=f.label or f.name.replace("_", " ").capitalize(),
                type=f.type.value,
                level=level,
                categories=categories,
                choices=tuple(f.choices),
            )
        )
    names = {f.name: f for f in schema.fields}
    has_boundary = (
        SAMPLE_TYPE in names
        and BOUNDARY in names[SAMPLE_TYPE].choices
        and MUST_REFUSE in names
        and names[MUST_REFUSE].type is FieldType.BOOL
    )
    return AgreementSchema(
        sop_version=sop.version,
        fields=tuple(specs),
        min_share=schema.consensus.min_share,
        min_votes=schema.consensus.min_votes,
        has_boundary=has_boundary,
        all_names=schema.names,
        text_names=tuple(f.name for f in schema.fields if f.type.is_text),
    )


def chosen_fields(schema: AgreementSchema, names: tuple[str, ...]) -> tuple[FieldSpec, ...]:
    """The specs of ``names`` (all when empty); a text field or an unknown name is refused by name."""
    if not names:
        return schema.fields
    known = {f.name for f in schema.fields}
    listing = ", ".join(f.name for f in schema.fields)
    for name in names:
        if name in known:
            continue
        if name in schema.all_names:
            raise InvalidInput(TEXT_FIELD.format(field=name, fields=listing))
        raise InvalidInput(
            UNKNOWN_FIELD.format(
                version=schema.sop_version, field=name, suggestion=suggest(name, known), fields=listing
            )
        )
    return tuple(f for f in schema.fields if f.name in names)


def filtered_annotations(project: Project, filters: AgreementFilters) -> QuerySet[Annotation]:
    """The project's annotations of every status and round, narrowed by the filters."""
    annotations = Annotation.objects.filter(task__project=project)
    if filters.sop_versions:
        annotations = annotations.filter(sop__version__in=filters.sop_versions)
    if filters.clusters:
        annotations = annotations.filter(task__cluster__number__in=filters.clusters)
    if filters.since is not None:
        annotations = annotations.filter(created_at__gte=filters.since)
    if filters.until is not None:
        annotations = annotations.filter(created_at__lt=filters.until)
    return annotations


def rating_data(
    *, project: Project, filters: AgreementFilters, with_work: bool = True, with_boundary: bool = True
) -> RatingData:
    """The ratings of every chosen field, the submissions and the boundary items, in bounded memory.

    A missing value (None: an optional field left empty, or a field an older SOP lacked) gives
    no rating: the core drops missing ratings anyway, and an item rated by one annotator alone
    is simply not pairable.
    """
    schema = agreement_schema(project)
    specs = chosen_fields(schema, filters.fields)
    wanted = {f.name: f for f in specs}
    if with_boundary and schema.has_boundary:
        wanted.setdefault(MUST_REFUSE, schema.spec(MUST_REFUSE))
    coders = {name: _Coder(spec) for name, spec in wanted.items()}
    names = _Usernames()
    gold = _gold_answers(project)
    finals = _final_values(project, keys=[*coders, SAMPLE_TYPE], skip=schema.text_names)
    # One pass over the filtered annotations gives both: every submission is work; the active
    # ones of the task's current round are the ratings. The long texts (corrected answers,
    # notes) stay in the database: only the rated keys travel.
    annotations = filtered_annotations(project, filters)
    if not with_work:
        annotations = annotations.filter(status=Annotation.Status.ACTIVE, round=F("task__round"))
    label = JSONWithout("values", keys=schema.text_names)
    columns = (
        "task_id",
        "annotator_id",
        "label",
        "created_at",
        "status",
        "round",
        "task__round",
        "seconds_spent",
    )
    rows = annotations.annotate(label=label).values_list(*columns).order_by()
    task_ids: list[int] = []
    people: list[str] = []
    whens: list[Any] = []
    labels: list[dict[str, Any]] = []
    work: list[Work] = []
    username = names.__getitem__
    active, rejected = Annotation.Status.ACTIVE, Annotation.Status.REJECTED
    for task_id, annotator_id, values, created_at, status, round_, task_round, seconds in rows.iterator(
        chunk_size=CHUNK
    ):
        who = username(annotator_id)
        if with_work:
            work.append(Work(who, str(task_id), seconds, status == rejected))
        if status != active or round_ != task_round:
            continue
        task_ids.append(task_id)
        people.append(who)
        whens.append(created_at)
        labels.append(values if isinstance(values, dict) else {})
    item_of = {task: str(task) for task in set(task_ids)}
    items = [item_of[task] for task in task_ids]
    ratings = {}
    for name, code in coders.items():
        values = code.column([v.get(name) for v in labels], count=True)
        # A final label or gold answer the newest schema cannot place counts as none.
        final_of = _placed_column(code, finals, name)
        gold_of = _placed_column(code, gold, name)
        ratings[name] = [
            Rating(item, who, value, when, gold_of.get(task), final_of.get(task))
            for item, who, value, when, task in zip(items, people, values, whens, task_ids, strict=True)
            if value is not None and value is not _DROP
        ]
    boundary: frozenset[str] = frozenset()
    if with_boundary and schema.has_boundary:
        boundary = _boundary(finals, task_ids, [v.get(SAMPLE_TYPE) for v in labels])
    return RatingData(
        schema=schema,
        fields=tuple(coders[f.name].extended() for f in specs),
        ratings=ratings,
        work=work,
        boundary_items=boundary,
        outside_schema={name: coders[name].dropped for name in wanted},
        n_annotations=len(task_ids),
        n_tasks=len(item_of),
        annotators=tuple(sorted(names.seen)),
    )


def work_list(*, project: Project, filters: AgreementFilters, names: _Usernames | None = None) -> list[Work]:
    """One :class:`Work` per submission in the filters: every round, rejected ones flagged."""
    names = names or _Usernames()
    rows = filtered_annotations(project, filters).values_list(
        "annotator_id", "task_id", "seconds_spent", "status"
    )
    rejected = Annotation.Status.REJECTED
    item_of: dict[int, str] = {}
    work = []
    for who, task, seconds, status in rows.order_by().iterator(chunk_size=CHUNK):
        item = item_of.get(task) or item_of.setdefault(task, str(task))
        work.append(Work(names[who], item, seconds, status == rejected))
    return work


class JSONWithout(Func):
    """A JSON object column without some keys, computed by the database (SQLite, PostgreSQL)."""

    output_field = JSONField()
    template = "%(expressions)s"  # other databases: the whole object

    def __init__(self, column: str, *, keys: tuple[str, ...]) -> None:
        super().__init__(F(column))
        self.keys = keys

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        sql, params = compiler.compile(self.source_expressions[0])
        if not self.keys:
            return sql, tuple(params)
        paths = ", ".join(["%s"] * len(self.keys))
        return f"JSON_REMOVE({sql}, {paths})", (*params, *(f'$."{k}"' for k in self.keys))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        sql, params = compiler.compile(self.source_expressions[0])
        if not self.keys:
            return sql, tuple(params)
        return f"({sql} - %s::text[])", (*params, list(self.keys))


def _boundary(finals: dict[int, dict[str, Any]], task_ids: list[int], votes: list[Any]) -> frozenset[str]:
    """Tasks whose final label says boundary; without one, where boundary ties for the most votes."""
    counts: dict[int, Counter[Any]] = defaultdict(Counter)
    for task, vote in zip(task_ids, votes, strict=True):
        if task not in finals:
            counts[task][vote] += 1
    items = {str(task) for task, final in finals.items() if final.get(SAMPLE_TYPE) == BOUNDARY}
    items &= {str(task) for task in task_ids}
    for task, tally in counts.items():
        if tally[BOUNDARY] and tally[BOUNDARY] == max(tally.values()):
            items.add(str(task))
    return frozenset(items)


def _gold_answers(project: Project) -> dict[int, dict[str, Any]]:
    rows = Task.objects.filter(project=project, kind=Task.Kind.GOLD).values_list("pk", "gold_answer")
    return {pk: answer for pk, answer in rows.iterator(chunk_size=CHUNK) if isinstance(answer, dict)}


def _final_values(project: Project, *, keys: list[str], skip: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    """task id -> the final label of its current round, only the keys asked for (not the text)."""
    finals = (
        Sample.objects.filter(
            project=project, status=Sample.Status.FINAL, task__isnull=False, round=F("task__round")
        )
        .annotate(label=JSONWithout("values", keys=skip))
        .values_list("task_id", "label")
    )
    out = {}
    for task_id, values in finals.order_by().iterator(chunk_size=CHUNK):
        if isinstance(values, dict):
            out[task_id] = {k: values.get(k) for k in keys}
    return out


class _Usernames:
    """annotator id -> username, one query per annotator the first time they are seen."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._model = get_user_model()

    def __getitem__(self, pk: int) -> str:
        name = self._names.get(pk)
        if name is None:
            found = self._model.objects.filter(pk=pk).values_list(self._model.USERNAME_FIELD, flat=True)
            name = self._names[pk] = str(found.first() or f"user-{pk}")
        return name

    @property
    def seen(self) -> list[str]:
        return list(self._names.values())


class _Coder:
    """Places one field's stored values in the newest schema (see the module docstring)."""

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec
        self.dropped = 0
        self.extra: set[str] = set()
        self._check: Callable[[Any], Any] = {
            FieldType.BOOL.value: _bool,
            FieldType.NUMBER.value: _number,
            FieldType.INTEGER.value: _number,
            FieldType.MULTI_CHOICE.value: self._multi,
        }.get(spec.type, self._choice)
        self._known = frozenset(spec.choices)

    def column(self, values: list[Any], *, count: bool = False) -> list[Any]:
        """:meth:`__call__` of each value; equal values are placed once (and share one object)."""
        cache: dict[Any, Any] = {}
        out = []
        for value in values:
            # The type is in the key: True == 1, but 1 is no answer of a bool field.
            key = (value.__class__, tuple(value) if value.__class__ is list else value)
            try:
                placed = cache[key]
            except KeyError:
                placed = cache[key] = self(value)
            except TypeError:  # unhashable inside (a dict in a list): placed one by one
                placed = self(value)
            out.append(placed)
        if count:
            self.dropped += sum(1 for v in out if v is _DROP)
        return out

    def __call__(self, value: Any, *, count: bool = False) -> Any:
        if value is None:
            return None
        placed = self._check(value)
        if placed is _DROP and count:
            self.dropped += 1
        return placed

    def _choice(self, value: Any) -> Any:
        if not isinstance(value, str):
            return _DROP
        if value not in self._known:
            if self.spec.level is Level.ORDINAL:
                return _DROP  # an unknown category has no place in the order
            self.extra.add(value)
        return value

    def _multi(self, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _DROP
        self.extra.update(v for v in value if v not in self._known)
        return value

    def extended(self) -> FieldSpec:
        """The spec with the categories older SOP versions used appended, in name order."""
        if not self.extra or self.spec.categories is None:
            return self.spec
        categories = (*self.spec.categories, *sorted(self.extra))
        return FieldSpec(
            self.spec.name, self.spec.label, self.spec.type, self.spec.level, categories, self.spec.choices
        )


def _placed_column(code: _Coder, labels: dict[int, dict[str, Any]], name: str) -> dict[int, Any]:
    """task id -> the field's value in ``labels`` (final or gold), None where the schema cannot place it."""
    placed = code.column([label.get(name) for label in labels.values()])
    return {task: None if value is _DROP else value for task, value in zip(labels, placed, strict=True)}


def _bool(value: Any) -> Any:
    return value if isinstance(value, bool) else _DROP


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _DROP
    return value
