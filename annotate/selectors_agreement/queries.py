"""The queries behind the agreement read, and how their rows reach Python: in batches, unconverted.

The read runs three SELECTs (:func:`rating_queries`): the filtered annotations, the final
samples and the gold answers. Labels come as JSON text without the text fields (the long
corrected answers and notes stay in the database) and times as the database stores them
(:class:`StoredTime`), so nothing is converted per row; the reader codes the columns in bulk.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, F, Func, IntegerField, JSONField, QuerySet, TextField, Value, When
from django.db.models.sql.constants import MULTI

from annotate.agreement import Work
from annotate.agreement_filters import AgreementFilters
from annotate.models import Annotation, Sample, Task
from annotate.selectors_agreement.schema import AgreementSchema
from flywheel.models import Project

CHUNK = 2000
BATCH = 10_000  # rows turned into arrays at a time (the read keeps arrays, never rows)


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


ANNOTATION_COLUMNS = ("task_id", "annotator_id", "label", "when", "state", "seconds_spent")
RATING, REJECTED, OTHER = 0, 1, 2  # the state column: a current label, a rejected one, the rest


def rating_queries(
    project: Project, filters: AgreementFilters, schema: AgreementSchema, *, with_work: bool = True
) -> dict[str, QuerySet[Any, tuple[Any, ...]]]:
    """The three queries :func:`rating_data` reads (the bench runs the same SQL through the bare driver)."""
    return {
        "annotations": annotation_rows(project, filters, schema, with_work=with_work),
        "finals": final_rows(project, schema),
        "gold": gold_rows(project, schema),
    }


def annotation_rows(
    project: Project, filters: AgreementFilters, schema: AgreementSchema, *, with_work: bool = True
) -> QuerySet[Annotation, tuple[Any, ...]]:
    """The rows the read needs (:data:`ANNOTATION_COLUMNS`), as the database gives them.

    The label comes as JSON text without the text fields (the long corrected answers and notes
    stay in the database), the time as the database stores it: neither is converted per row.
    ``state`` says what a row is: :data:`RATING` (active, of the task's current round),
    :data:`REJECTED` or :data:`OTHER` (superseded, or of an earlier round): work only.
    """
    annotations = filtered_annotations(project, filters)
    if not with_work:
        annotations = annotations.filter(status=Annotation.Status.ACTIVE, round=F("task__round"))
    state = Case(
        When(status=Annotation.Status.ACTIVE, round=F("task__round"), then=Value(RATING)),
        When(status=Annotation.Status.REJECTED, then=Value(REJECTED)),
        default=Value(OTHER),
        output_field=IntegerField(),
    )
    return (
        annotations.annotate(
            label=JSONWithout("values", keys=schema.text_names, as_text=True),
            when=StoredTime("created_at"),
            state=state,
        )
        .values_list(*ANNOTATION_COLUMNS)
        .order_by()
    )


def final_rows(project: Project, schema: AgreementSchema) -> QuerySet[Sample, tuple[Any, ...]]:
    """task id, final label (JSON text) of every task's final sample in its current round."""
    return (
        Sample.objects.filter(
            project=project, status=Sample.Status.FINAL, task__isnull=False, round=F("task__round")
        )
        .annotate(label=JSONWithout("values", keys=schema.text_names, as_text=True))
        .values_list("task_id", "label")
        .order_by()
    )


def gold_rows(project: Project, schema: AgreementSchema) -> QuerySet[Task, tuple[Any, ...]]:
    return (
        Task.objects.filter(project=project, kind=Task.Kind.GOLD)
        .annotate(label=JSONWithout("gold_answer", keys=schema.text_names, as_text=True))
        .values_list("pk", "label")
        .order_by()
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
    """A JSON object column without some keys, computed by the database (SQLite, PostgreSQL).

    ``as_text``: the JSON text as stored, for the reader to decode (once per distinct label).
    """

    output_field = JSONField()
    template = "%(expressions)s"  # other databases: the whole object

    def __init__(self, column: str, *, keys: tuple[str, ...], as_text: bool = False) -> None:
        super().__init__(F(column), output_field=TextField() if as_text else JSONField())
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
        # Deleting keys from a scalar is an error in PostgreSQL; a label that is no object stays whole.
        removed = f"CASE WHEN jsonb_typeof({sql}) = 'object' THEN {sql} - %s::text[] ELSE {sql} END"
        return f"({removed})", (*params, *params, list(self.keys), *params)


class StoredTime(Func):
    """A datetime column in a form the driver does not convert per row; :func:`utc_times` converts in bulk.

    SQLite stores ISO 8601 text: the CAST drops the column's declared type, so the driver does
    not parse each value. PostgreSQL stores microseconds since 2000: they come as an integer of
    microseconds since 1970, exact (a datetime would pass through a Python loader per row).
    The text output field keeps Django's converters away on both.
    """

    output_field = TextField()
    template = "%(expressions)s"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS TEXT)", tuple(params)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(EXTRACT(EPOCH FROM {sql}) * 1000000)::bigint", tuple(params)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused while rows stream in.

    A read allocates a few hundred thousand row tuples and strings, each freed by reference
    counting moments later; none forms a cycle, yet the allocations keep triggering collector
    passes over every live object, which cost a fifth of the read. Memory is unaffected.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def batches(rows: QuerySet[Any, tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a ``values_list`` query, :data:`BATCH` at a time, as the driver returns them.

    ``iterator()`` would pass each row through a converter step one by one; the columns read
    here need none (JSON text, stored times, numbers), so they are taken as they come, through
    a chunked (server-side on PostgreSQL) cursor as ``iterator()`` uses.
    """
    compiler = rows.query.get_compiler(using=rows.db)
    batches: Iterator[list[tuple[Any, ...]]]
    batches = compiler.execute_sql(MULTI, chunked_fetch=True, chunk_size=BATCH)
    return batches


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
