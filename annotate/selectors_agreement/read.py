"""The agreement read: the filtered annotations, final labels and gold answers as columns for the core.

One pass over each query (:mod:`.queries`), a batch of rows at a time into numpy arrays:

- which fields, their types and choices: the newest published SOP's label schema (free-text
  fields have no agreement and are left out; :mod:`.schema`);
- which annotations: ACTIVE ones of the task's current round (a re-queue starts a new round;
  rejected and superseded labels are history), narrowed by the filters (SOP version, cluster,
  submitted between);
- ``gold``: the gold task's known answer; ``final``: the final sample of the same round.

Each distinct stored label (JSON text) is decoded once, each distinct value of a field placed
in the newest schema once; every field then gets a :class:`RatingColumns` sharing the item,
annotator and time arrays. Submissions (pace, rejections) come from every annotation in the
filters, of every round and status: a rejected annotation counts as a rejected submission.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from annotate.agreement import Rating, RatingColumns, Work, WorkColumns
from annotate.agreement.columns import MISSING, utc_times
from annotate.agreement_filters import AgreementFilters
from annotate.models import Annotation
from annotate.selectors_agreement.queries import (
    RATING,
    REJECTED,
    batches,
    no_cycle_collection,
    rating_queries,
)
from annotate.selectors_agreement.schema import (
    BOUNDARY,
    MUST_REFUSE,
    SAMPLE_TYPE,
    AgreementSchema,
    FieldCoder,
    FieldSpec,
    agreement_schema,
    chosen_fields,
)
from flywheel.models import Project


@dataclass
class RatingData:
    """Everything the dashboard computes from, read once."""

    schema: AgreementSchema
    fields: tuple[FieldSpec, ...]  # the filtered fields, categories extended by older SOPs' values
    columns: dict[str, RatingColumns]  # field -> its ratings (one row per current label with a value)
    submissions: WorkColumns
    boundary_items: frozenset[str]
    outside_schema: dict[str, int]
    n_annotations: int = 0
    n_tasks: int = 0
    annotators: tuple[str, ...] = ()

    @property
    def ratings(self) -> dict[str, list[Rating]]:
        """The same ratings as :class:`Rating` records (tests, small reads): one per row."""
        return {name: columns.ratings() for name, columns in self.columns.items()}

    @property
    def work(self) -> list[Work]:
        return self.submissions.work()


def rating_data(
    *, project: Project, filters: AgreementFilters, with_work: bool = True, with_boundary: bool = True
) -> RatingData:
    """The ratings of every chosen field, the submissions and the boundary items, as columns.

    A missing value (None: an optional field left empty, or a field an older SOP lacked) gives
    no rating: the core drops missing ratings anyway, and an item rated by one annotator alone
    is simply not pairable.
    """
    schema = agreement_schema(project)
    specs = chosen_fields(schema, filters.fields)
    wanted = {f.name: f for f in specs}
    if with_boundary and schema.has_boundary:
        wanted.setdefault(MUST_REFUSE, schema.spec(MUST_REFUSE))
    coders = {name: FieldCoder(spec) for name, spec in wanted.items()}
    # One pass over the filtered annotations gives both: every submission is work; the active
    # ones of the task's current round are the ratings.
    queries = rating_queries(project, filters, schema, with_work=with_work)
    with no_cycle_collection():
        read = _read_annotations(queries["annotations"])
        finals, gold = _read_labels(queries["finals"]), _read_labels(queries["gold"])
    people = _people(read.who)
    current = np.flatnonzero(read.current)
    tasks, task_of = np.unique(read.task[current], return_inverse=True)
    items, item_rank = _sorted_names(tasks.astype(str))
    label = read.labels.codes[current]
    # Only the labels the ratings use are placed (a rejected label's odd value extends nothing).
    in_use = np.zeros(len(read.labels.decoded) + 1, dtype=bool)
    in_use[label] = True
    final_of, gold_of = finals.of_tasks(tasks), gold.of_tasks(tasks)
    item, rater, when = item_rank[task_of], people.codes(read.who[current]), read.when[current]
    columns = {}
    dropped = {}
    for name, code in coders.items():
        value, drop = code.coded(read.labels.field(name, in_use))
        # A final label or gold answer the newest schema cannot place counts as none.
        final, _ = code.coded(finals.field(name))
        answer, _ = code.coded(gold.field(name))
        dropped[name] = int(drop[label].sum())
        # Every field shares the item, annotator and time arrays.
        columns[name] = RatingColumns(
            items=items,
            annotators=people.names,
            item=item,
            rater=rater,
            when=when,
            value=value.take(label),
            final=final.take(final_of[task_of]),
            gold=answer.take(gold_of[task_of]),
        )
    boundary: frozenset[str] = frozenset()
    if with_boundary and schema.has_boundary:
        boundary = _boundary(items, item_rank, task_of, read.labels, label, finals, final_of)
    return RatingData(
        schema=schema,
        fields=tuple(coders[f.name].extended() for f in specs),
        columns={name: columns[name] for name in wanted},
        submissions=_submissions(read, people, rows=None if with_work else np.zeros(0, dtype=np.intp)),
        boundary_items=boundary,
        outside_schema=dropped,
        n_annotations=len(current),
        n_tasks=len(tasks),
        annotators=people.names,
    )


@dataclass(frozen=True, eq=False)
class _Labels:
    """Stored labels (JSON texts) as codes: row n holds ``decoded[codes[n]]``; -1 = none (NULL)."""

    codes: np.ndarray  # (N,) intp
    decoded: list[dict[str, Any] | None]  # each distinct text decoded once; None = not an object

    def field(self, name: str, use: np.ndarray | None = None) -> list[Any]:
        """The field's raw value in each distinct label (None where absent, or ``use`` is False)."""
        return [
            label.get(name) if label is not None and (use is None or use[k]) else None
            for k, label in enumerate(self.decoded)
        ]


class _Texts:
    """Codes JSON texts chunk by chunk; equal texts share one code and are decoded once, at the end."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._parts: list[np.ndarray] = []

    def add(self, texts: Sequence[str | None]) -> None:
        codes, distinct = pd.factorize(np.array(texts, dtype=object))  # NULL -> -1
        mine = [self._index.setdefault(text, len(self._index)) for text in distinct]
        self._parts.append(np.append(np.array(mine, dtype=np.intp), MISSING)[codes])

    def labels(self) -> _Labels:
        # One parse of all distinct texts, joined into one array, costs less than one per text.
        values = json.loads(f"[{','.join(self._index)}]") if self._index else []
        decoded = [value if isinstance(value, dict) else None for value in values]
        codes = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.intp)
        return _Labels(codes, decoded)


@dataclass(frozen=True, eq=False)
class _Read:
    """The filtered annotations, column by column (N rows)."""

    task: np.ndarray  # (N,) int64 task id
    who: np.ndarray  # (N,) int64 annotator id
    labels: _Labels
    when: np.ndarray  # (N,) datetime64[ns] UTC
    current: np.ndarray  # (N,) bool: active, and of the task's current round: a rating
    rejected: np.ndarray  # (N,) bool
    seconds: np.ndarray  # (N,) float; NaN = not measured


def _read_annotations(rows: QuerySet[Annotation, tuple[Any, ...]]) -> _Read:
    """One pass over :func:`annotation_rows`; each chunk becomes arrays, nothing is kept per row."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("task", "who", "when", "current", "rejected", "s")}
    texts = _Texts()
    for batch in batches(rows):
        task, who, label, when, state, seconds = zip(*batch, strict=True)
        states = np.array(state, dtype=np.int8)
        parts["task"].append(np.array(task, dtype=np.int64))
        parts["who"].append(np.array(who, dtype=np.int64))
        parts["when"].append(utc_times(when))
        parts["current"].append(states == RATING)
        parts["rejected"].append(states == REJECTED)
        parts["s"].append(np.array(seconds, dtype=float))
        texts.add(label)
    empty = {"task": np.int64, "who": np.int64, "when": "datetime64[ns]", "current": bool, "rejected": bool}
    whole = {
        key: np.concatenate(chunks) if chunks else np.zeros(0, dtype=empty.get(key, float))
        for key, chunks in parts.items()
    }
    return _Read(
        task=whole["task"],
        who=whole["who"],
        labels=texts.labels(),
        when=whole["when"],
        current=whole["current"],
        rejected=whole["rejected"],
        seconds=whole["s"],
    )


@dataclass(frozen=True, eq=False)
class _TaskLabels:
    """One label per task (final samples, gold answers): the last row of a task wins."""

    tasks: np.ndarray  # (K,) sorted task ids that have a label (an object)
    labels: _Labels  # codes aligned with ``tasks``

    def of_tasks(self, tasks: np.ndarray) -> np.ndarray:
        """(T,) each task's code into ``labels.decoded``; -1 for a task without one."""
        if not len(self.tasks):
            return np.full(len(tasks), MISSING, dtype=np.intp)
        at = np.minimum(np.searchsorted(self.tasks, tasks), len(self.tasks) - 1)
        return np.where(self.tasks[at] == tasks, self.labels.codes[at], MISSING)

    def field(self, name: str) -> list[Any]:
        return self.labels.field(name)


def _read_labels(rows: QuerySet[Any, tuple[Any, ...]]) -> _TaskLabels:
    ids: list[np.ndarray] = []
    texts = _Texts()
    for batch in batches(rows):
        task_ids, label = zip(*batch, strict=True)
        ids.append(np.array(task_ids, dtype=np.int64))
        texts.add(label)
    labels = texts.labels()
    task = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    is_object = np.append(np.array([d is not None for d in labels.decoded], dtype=bool), False)
    keep = np.flatnonzero(is_object[labels.codes])
    # The last row of a task wins, as a dict built in row order keeps the last.
    tasks, last = np.unique(task[keep][::-1], return_index=True)
    codes = labels.codes[keep][::-1][last]
    return _TaskLabels(tasks, _Labels(codes, labels.decoded))


@dataclass(frozen=True, eq=False)
class _People:
    ids: np.ndarray  # (P,) sorted annotator ids
    names: tuple[str, ...]  # their usernames, sorted
    rank: np.ndarray  # (P,) position of ids[k]'s name in names

    def codes(self, who: np.ndarray) -> np.ndarray:
        return self.rank[np.searchsorted(self.ids, who)]


def _people(who: np.ndarray) -> _People:
    """Every annotator id read, named: one query."""
    ids = np.unique(who)
    model = get_user_model()
    found = dict(model.objects.filter(pk__in=ids.tolist()).values_list("pk", model.USERNAME_FIELD))
    names = [str(found.get(pk) or f"user-{pk}") for pk in ids.tolist()]
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.intp)
    rank[order] = np.arange(len(names))
    return _People(ids, tuple(names[k] for k in order), rank)


def _sorted_names(texts: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The texts sorted (as Python sorts strings), and each one's rank."""
    order = np.argsort(texts, kind="stable")
    rank = np.empty(len(texts), dtype=np.intp)
    rank[order] = np.arange(len(texts))
    return tuple(texts[order].tolist()), rank


def _boundary(
    items: tuple[str, ...],
    item_rank: np.ndarray,
    task_of: np.ndarray,
    labels: _Labels,
    label: np.ndarray,
    finals: _TaskLabels,
    final_of: np.ndarray,
) -> frozenset[str]:
    """Tasks whose final label says boundary; without one, where boundary ties for the most votes.

    ``task_of`` (R,) numbers each rating's task among the T rated tasks, ``label`` (R,) its label;
    ``final_of`` (T,) is each rated task's final label (-1: none).
    """
    says = np.array([v == BOUNDARY for v in finals.field(SAMPLE_TYPE)] + [False], dtype=bool)
    boundary = says[final_of]
    # Votes of tasks without a final label, counted per (task, value); None is a value too.
    index: dict[Any, int] = {}
    votes = [*labels.field(SAMPLE_TYPE), None]
    vote = np.array([index.setdefault(_vote_key(v), len(index)) for v in votes], dtype=np.int64)[label]
    open_ = np.flatnonzero(final_of[task_of] == MISSING)
    if len(open_) and BOUNDARY in index:
        n = len(index)
        pair, count = np.unique(task_of[open_] * n + vote[open_], return_counts=True)
        task, value = pair // n, pair % n
        top = np.zeros(len(final_of), dtype=np.int64)
        np.maximum.at(top, task, count)
        for_boundary = np.zeros(len(final_of), dtype=np.int64)
        chosen = value == index[BOUNDARY]
        for_boundary[task[chosen]] = count[chosen]
        boundary |= (for_boundary > 0) & (for_boundary == top)
    return frozenset(items[item_rank[t]] for t in np.flatnonzero(boundary))


def _vote_key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:  # a list where a choice should be: never boundary, but still a vote
        return ("unhashable", repr(value))
    return value


def _submissions(read: _Read, people: _People, *, rows: np.ndarray | None = None) -> WorkColumns:
    """Every submission read: who, which task, seconds spent, rejected or not."""
    keep = np.arange(len(read.task)) if rows is None else rows
    tasks, task_of = np.unique(read.task[keep], return_inverse=True)
    return WorkColumns(
        annotators=people.names,
        who=people.codes(read.who[keep]),
        items=tuple(tasks.astype(str).tolist()),
        item=task_of.astype(np.intp),
        seconds=read.seconds[keep],
        rejected=read.rejected[keep],
    )
