"""Ratings as columns: one field's ratings without a record per rating, as the database read gives them.

A :class:`RatingColumns` holds what a list of :class:`Rating` holds (row r is one rating) as
numpy arrays: item and annotator codes into sorted name tuples, the submit times as
``datetime64[ns]`` (UTC), and value, final label and gold answer each as a :class:`Coded`
column: per row a code into the column's distinct values. A reader decodes each stored label
once, codes every field from it, and lets the fields share the item, annotator and time arrays.

:func:`rating_table_from_columns` gives the very table :func:`rating_table` gives for the same
ratings (the property tests hold the two equal, array for array), but codes each distinct value
once instead of once per rating, and never builds a Python object per rating.

    columns = RatingColumns.from_ratings(ratings)  # or built by the reader, column by column
    rating_table_from_columns(columns, level="ordinal", categories=("easy", "medium", "hard"))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from annotate.agreement.table import (
    DUPLICATE,
    Encoder,
    Explainer,
    Level,
    Rating,
    RatingTable,
    category_coder,
    is_missing,
    number_coder,
    observed_order,
    parse_level,
)
from flywheel.errors import InvalidInput

MISSING = -1  # the code of a missing value (None)
NAT_MICROS = np.iinfo(np.int64).min  # NaT as an int64 count of microseconds
NOT_SORTED = "{what} must be sorted and distinct; the codes index them in that order."
NOT_ALIGNED = "Every column needs one entry per rating: {sizes}."


@dataclass(frozen=True, eq=False)
class Coded:
    """A column of values as codes: row r holds ``levels[codes[r]]``, or None where the code is -1."""

    codes: np.ndarray  # (R,) intp
    levels: tuple[Any, ...]  # the distinct values

    @classmethod
    def of(cls, values: Sequence[Any]) -> Coded:
        """The column of ``values``: equal values of the same type share a level (1 and True do not)."""
        index: dict[Any, int] = {}
        levels: list[Any] = []
        codes = []
        for value in values:
            if value is None:
                codes.append(MISSING)
                continue
            key = (value.__class__, tuple(value) if value.__class__ is list else value)
            try:
                code = index.setdefault(key, len(levels))
            except TypeError:  # unhashable inside (a dict): a level of its own
                code = len(levels)
            if code == len(levels):
                levels.append(value)
            codes.append(code)
        return cls(np.array(codes, dtype=np.intp), tuple(levels))

    @classmethod
    def empty(cls, n: int) -> Coded:
        """``n`` missing values."""
        return cls(np.full(n, MISSING, dtype=np.intp), ())

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, row: int) -> Any:
        code = int(self.codes[row])
        return None if code == MISSING else self.levels[code]

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.levels)

    def first_seen(self, rows: np.ndarray) -> np.ndarray:
        """The distinct level codes of ``rows`` (not missing), in order of first appearance."""
        codes = self.codes[rows]
        return pd.unique(codes[codes != MISSING])

    def levels_used(self, rows: np.ndarray) -> list[Any]:
        """The distinct values of ``rows`` (not missing), in order of first appearance."""
        return [self.levels[i] for i in self.first_seen(rows)]


@dataclass(frozen=True, eq=False)
class RatingColumns:
    """One field's ratings as aligned columns, R rows; ``items`` and ``annotators`` sorted and distinct."""

    items: tuple[str, ...]
    annotators: tuple[str, ...]
    item: np.ndarray  # (R,) intp into items
    rater: np.ndarray  # (R,) intp into annotators
    when: np.ndarray  # (R,) datetime64[ns], UTC; NaT = unknown
    value: Coded
    final: Coded  # the item's final label, repeated on each of its rows
    gold: Coded  # the item's gold answer, likewise

    def __post_init__(self) -> None:
        sizes = {
            name: len(getattr(self, name)) for name in ("item", "rater", "when", "value", "final", "gold")
        }
        if len(set(sizes.values())) > 1:
            raise ValueError(NOT_ALIGNED.format(sizes=sizes))

    def check_names(self) -> None:
        """Raises ValueError unless ``items`` and ``annotators`` are sorted and distinct (the readers'
        promise; not checked on every construction, which would cost more than the coding)."""
        for what, names in (("items", self.items), ("annotators", self.annotators)):
            if any(a >= b for a, b in pairwise(names)):
                raise ValueError(NOT_SORTED.format(what=what))

    def __len__(self) -> int:
        return len(self.item)

    @classmethod
    def from_ratings(cls, ratings: Iterable[Rating]) -> RatingColumns:
        """The columns of a list of ratings, row for row."""
        rows = list(ratings)
        item, items = pd.factorize(pd.Series([r.item for r in rows], dtype=object), sort=True)
        rater, annotators = pd.factorize(pd.Series([r.annotator for r in rows], dtype=object), sort=True)
        return cls(
            items=tuple(items),
            annotators=tuple(annotators),
            item=item.astype(np.intp),
            rater=rater.astype(np.intp),
            when=utc_times([r.when for r in rows]),
            value=Coded.of([r.value for r in rows]),
            final=Coded.of([r.final for r in rows]),
            gold=Coded.of([r.gold for r in rows]),
        )

    def take(self, rows: np.ndarray) -> RatingColumns:
        """The rows ``rows`` picks (a mask, or positions), names kept."""
        return replace(
            self,
            item=self.item[rows],
            rater=self.rater[rows],
            when=self.when[rows],
            value=self.value.take(rows),
            final=self.final.take(rows),
            gold=self.gold.take(rows),
        )

    def present_rows(self) -> np.ndarray:
        """Positions of the rows with a value: not None and not a float NaN, as :func:`present` decides."""
        levels = self.value.levels
        kept = np.fromiter(
            (not (v is None or (type(v) is float and math.isnan(v))) for v in levels), bool, len(levels)
        )
        return np.flatnonzero(np.append(kept, False)[self.value.codes])  # code -1 reads the last cell

    def first_value(self) -> Any:
        """The first value that is not missing (None or NaN), in row order; None if there is none."""
        levels, codes = self.value.levels, self.value.codes
        known = np.fromiter((not is_missing(v) for v in levels), bool, len(levels))
        rows = np.flatnonzero((codes != MISSING) & np.append(known, False)[codes])
        return self.value.get(int(rows[0])) if len(rows) else None

    def rating(self, row: int) -> Rating:
        when = self.when[row]
        return Rating(
            item=self.items[self.item[row]],
            annotator=self.annotators[self.rater[row]],
            value=self.value.get(row),
            when=None if np.isnat(when) else pd.Timestamp(when, tz="UTC").to_pydatetime(),
            gold=self.gold.get(row),
            final=self.final.get(row),
        )

    def ratings(self) -> list[Rating]:
        """One :class:`Rating` per row that has a value (a missing value is no rating)."""
        return [self.rating(int(row)) for row in np.flatnonzero(self.value.codes != MISSING)]


def utc_times(values: Sequence[Any]) -> np.ndarray:
    """(N,) datetime64[ns] in UTC of one kind of time, None = NaT: datetimes (naive ones are UTC),
    ISO 8601 texts, or integers of microseconds since 1970 (as databases give them)."""
    first = next((v for v in values if v is not None), None)
    if isinstance(first, int):
        micros = np.array([NAT_MICROS if v is None else v for v in values], dtype=np.int64)
        return micros.view("datetime64[us]").astype("datetime64[ns]")
    series = pd.Series(values, dtype=object)
    parsed = pd.to_datetime(series, utc=True, format="ISO8601" if isinstance(first, str) else None)
    return parsed.to_numpy("datetime64[ns]")


def rating_table_from_columns(
    columns: RatingColumns, *, level: Level | str, categories: Sequence[Any] | None = None
) -> RatingTable:
    """:func:`rating_table` of ratings held as columns: the same table, each distinct value coded once."""
    level = parse_level(level)
    rows = columns.present_rows()
    if not level.is_categorical:
        return build_table_from_columns(columns, rows, level, (), *number_coder(level))
    if categories is not None:
        cats = tuple(categories)
    else:
        extra = [v for c in (columns.final, columns.gold) for v in c.levels_used(rows) if not is_missing(v)]
        cats = observed_order([*columns.value.levels_used(rows), *extra], level)
    return build_table_from_columns(columns, rows, level, cats, *category_coder(cats))


def build_table_from_columns(
    columns: RatingColumns,
    rows: np.ndarray,
    level: Level,
    categories: tuple[Any, ...],
    encode: Encoder,
    invalid: Explainer,
) -> RatingTable:
    """The table of ``rows`` (whose values are not missing), as :func:`build_table` makes it.

    ``encode`` sees each column's distinct values in order of first appearance among ``rows``,
    value column first: the order a stateful encoder (multi-choice sets) numbers them in.
    """
    items, item_code = _used(columns.items, columns.item[rows])
    annotators, rater_code = _used(columns.annotators, columns.rater[rows])
    coded = {}
    for what, attribute in (("value", "value"), ("final label", "final"), ("gold answer", "gold")):
        column: Coded = getattr(columns, attribute)
        codes = column.codes[rows]
        seen = column.first_seen(rows)
        per_level = np.full(len(column.levels) + 1, np.nan)  # the last cell stands for missing
        if len(seen):
            values = [column.levels[i] for i in seen]
            level_codes = encode(values)
            per_level[seen] = level_codes
            invalid_level = np.zeros(len(per_level), dtype=bool)
            invalid_level[seen] = np.isnan(level_codes) & np.fromiter(
                (not is_missing(v) for v in values), bool, len(values)
            )
            bad = invalid_level[codes]
            if bad.any():
                position = int(np.argmax(bad))
                row = int(rows[position])
                raise InvalidInput(invalid(columns.rating(row), what, column.get(row)))
        coded[attribute] = per_level[codes]  # code -1 reads the missing cell
    key = item_code.astype(np.int64) * max(len(annotators), 1) + rater_code
    order = np.argsort(key, kind="stable")
    repeated = np.flatnonzero(np.diff(key[order]) == 0)
    if len(repeated):
        first = columns.rating(int(rows[order[repeated[0]]]))
        raise InvalidInput(DUPLICATE.format(annotator=first.annotator, item=first.item))
    return RatingTable(
        level=level,
        items=items,
        annotators=annotators,
        categories=categories,
        item=item_code[order].astype(np.intp),
        rater=rater_code[order].astype(np.intp),
        code=coded["value"][order],
        final=coded["final"][order],
        gold=coded["gold"][order],
        when=columns.when[rows][order],
    )


def _used(names: tuple[str, ...], codes: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The names ``codes`` use (still sorted), and each code renumbered among them."""
    used = np.bincount(codes, minlength=len(names)) > 0
    if used.all():  # the usual case: every field rated on every item
        return names, codes
    rank = np.cumsum(used) - 1
    return tuple(np.array(names, dtype=object)[used].tolist()), rank[codes]
