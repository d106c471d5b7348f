"""Ratings in, one table out: the shape every agreement statistic reads.

A :class:`RatingTable` holds one field's ratings in long form, one row per non-missing rating,
sorted by item then annotator, with the values coded: a category's index in the schema's
choice order for nominal and ordinal fields, the number itself for interval and ratio fields.
Long form, not a dense items x annotators matrix, because 40k items x 30 annotators is mostly
holes; :attr:`RatingTable.matrix` gives the dense view (NaN = missing) for whoever needs it.

Multi-choice fields are coded in :mod:`annotate.agreement.choices`; ratings held as columns
(the database read) in :mod:`annotate.agreement.columns`, into the same table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from annotate.agreement.weeks import Weeks, item_weeks
from flywheel.errors import InvalidInput

BAD_LEVEL = "Unknown level of measurement {level!r}; expected one of nominal, ordinal, interval, ratio."
NOT_A_CHOICE = (
    "Item {item!r}, annotator {annotator!r}: {what} {value!r} is not one of the field's choices ({choices})."
)
NOT_A_NUMBER = (
    "Item {item!r}, annotator {annotator!r}: {what} {value!r} is not a finite number ({level} field)."
)
DUPLICATE = (
    "Annotator {annotator!r} rated item {item!r} more than once; pass one rating per item and annotator."
)
ORDINAL_NEEDS_ORDER = (
    "An ordinal field needs its categories in order: pass categories= (the schema's choices) "
    "unless every value is a number."
)
MULTI_NEEDS_LIST = (
    "Item {item!r}, annotator {annotator!r}: value {value!r} is a list; single-valued fields take one value."
)


class Level(StrEnum):
    """Krippendorff's levels of measurement; the field's type decides which one applies."""

    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    INTERVAL = "interval"
    RATIO = "ratio"

    @property
    def is_categorical(self) -> bool:
        return self in (Level.NOMINAL, Level.ORDINAL)


def parse_level(level: Level | str) -> Level:
    try:
        return Level(level)
    except ValueError:
        raise InvalidInput(BAD_LEVEL.format(level=level)) from None


def level_for_field(field_type: str, *, ordinal: bool = False) -> Level | None:
    """The level for a label-schema field type (a ``FieldType`` value); None for text: no agreement."""
    if field_type == "choice":
        return Level.ORDINAL if ordinal else Level.NOMINAL
    if field_type in ("multi_choice", "bool"):
        return Level.NOMINAL
    if field_type in ("number", "integer"):
        return Level.INTERVAL
    return None


@dataclass(frozen=True)
class Rating:
    """One annotator's value for one field of one item. ``gold`` and ``final`` are the item's, repeated."""

    item: str
    annotator: str
    value: Any
    when: datetime | None = None  # submitted at; naive times are taken as UTC
    gold: Any | None = None
    final: Any | None = None


@dataclass(frozen=True)
class Pairs:
    """Every two ratings of one item, as positions ``i < j`` into the table's rating arrays."""

    i: np.ndarray
    j: np.ndarray


@dataclass(frozen=True, eq=False)
class RatingTable:
    """One field's ratings; arrays are aligned per rating (R of them), sorted by item, then annotator."""

    level: Level
    items: tuple[str, ...]
    annotators: tuple[str, ...]
    categories: tuple[Any, ...]  # code -> value for nominal/ordinal; () for interval/ratio
    item: np.ndarray  # (R,) int index into items
    rater: np.ndarray  # (R,) int index into annotators
    code: np.ndarray  # (R,) float: category index, or the number itself
    final: np.ndarray  # (R,) float code of the item's final label; NaN = none yet
    gold: np.ndarray  # (R,) float code of the gold answer; NaN = not a gold task
    when: np.ndarray  # (R,) datetime64[ns] in UTC; NaT = unknown
    is_sets: bool = False  # categories are frozensets of choices (a multi-choice field)
    choices: tuple[Any, ...] = ()  # a set table's choices, in the schema's order

    @property
    def n_ratings(self) -> int:
        return len(self.code)

    @cached_property
    def raters_per_item(self) -> np.ndarray:
        return np.bincount(self.item, minlength=len(self.items))

    @cached_property
    def domain(self) -> np.ndarray:
        """Possible values in order: category codes, or the distinct numbers seen."""
        if self.level.is_categorical:
            return np.arange(len(self.categories), dtype=float)
        return np.unique(self.code)

    @cached_property
    def value_index(self) -> np.ndarray:
        """(R,) int: each rating's position in :attr:`domain`."""
        return np.searchsorted(self.domain, self.code)

    @cached_property
    def matrix(self) -> np.ndarray:
        """(items, annotators) float, NaN where an annotator did not rate an item."""
        dense = np.full((len(self.items), len(self.annotators)), np.nan)
        dense[self.item, self.rater] = self.code
        return dense

    @cached_property
    def pairs(self) -> Pairs:
        # Ratings are sorted by item, so an item's ratings are a run; pairing each rating with
        # the one k places later, for k = 1 .. (most raters on an item) - 1, enumerates every
        # pair with a loop over k only (2 or 3 turns in practice), never over items.
        counts = self.raters_per_item
        start = np.concatenate(([0], np.cumsum(counts)[:-1]))
        position = np.arange(self.n_ratings) - start[self.item]
        run = counts[self.item]
        left = [np.flatnonzero(position + k < run) for k in range(1, int(counts.max(initial=0)))]
        i = np.concatenate(left) if left else np.zeros(0, dtype=int)
        offsets = np.concatenate([np.full(len(x), k) for k, x in enumerate(left, 1)]) if left else i
        return Pairs(i=i, j=i + offsets)

    @cached_property
    def rater_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(pair ids a * A + b of the annotator pairs that share an item, each co-rated pair's index)."""
        a, b = self.rater[self.pairs.i], self.rater[self.pairs.j]  # a < b: sorted by annotator
        pair_ids, pair_of = np.unique(a * len(self.annotators) + b, return_inverse=True)
        return pair_ids, pair_of

    @cached_property
    def weeks(self) -> Weeks:
        """The ISO week (UTC) each item's agreement became known in: that of its last rating."""
        return item_weeks(self.item, self.when, self.raters_per_item)

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Work two statistics share on this very table (alpha's per-item reduction, per level)."""
        return {}

    def recoded(self, **changes: Any) -> RatingTable:
        """The same ratings with other codes (``code``, ``final``, ``gold``, ``categories``, ...).

        What depends only on who rated which item when (pairs, raters per item, weeks) is
        computed here once and shared, not recomputed per table: the per-choice tables of a
        multi-choice field each get a full report.
        """
        table = replace(self, **changes)
        for name in _SHAPE:
            table.__dict__[name] = getattr(self, name)  # what cached_property itself does
        return table

    def select(self, keep: np.ndarray) -> RatingTable:
        """The same table with only the ratings ``keep`` picks (a mask, or positions in rating order)."""
        return replace(
            self,
            item=self.item[keep],
            rater=self.rater[keep],
            code=self.code[keep],
            final=self.final[keep],
            gold=self.gold[keep],
            when=self.when[keep],
        )


# The cached properties of a table that its item, rater and when arrays alone decide.
_SHAPE = ("raters_per_item", "pairs", "rater_pairs", "weeks")


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def is_multi(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def present(ratings: Iterable[Rating]) -> list[Rating]:
    """The ratings whose value is not missing (None or NaN)."""
    return [
        r for r in ratings if r.value is not None and not (type(r.value) is float and math.isnan(r.value))
    ]


# Codes a column of values (ratings, final labels or gold answers) to floats; NaN = missing or
# invalid: build_table tells the two apart and raises the Explainer's message for the first invalid.
Encoder = Callable[[list[Any]], np.ndarray]
Explainer = Callable[[Rating, str, Any], str]  # (rating, "value" | "final label" | "gold answer", value)


def rating_table(
    ratings: Iterable[Rating], *, level: Level | str, categories: Sequence[Any] | None = None
) -> RatingTable:
    """Code single-valued ratings. ``categories`` is the schema's choice order (required for ordinal text)."""
    level = parse_level(level)
    rows = present(ratings)
    if level.is_categorical:
        cats = tuple(categories) if categories is not None else _observed_order(rows, level)
        return build_table(rows, level, cats, *category_coder(cats))
    return build_table(rows, level, (), *number_coder(level))


def category_coder(categories: tuple[Any, ...]) -> tuple[Encoder, Explainer]:
    """Codes a category by its index in ``categories``; explains a value that is not one of them."""
    index = {c: float(i) for i, c in enumerate(categories)}
    listing = ", ".join(map(repr, categories))

    def by_category(values: list[Any]) -> np.ndarray:
        try:
            return np.array([index.get(v, math.nan) for v in values], dtype=float)
        except TypeError:  # an unhashable value: code one by one, so only that one is invalid
            return np.array([index.get(v, math.nan) if _hashable(v) else math.nan for v in values])

    def not_a_choice(r: Rating, what: str, value: Any) -> str:
        if is_multi(value):
            return MULTI_NEEDS_LIST.format(item=r.item, annotator=r.annotator, value=value)
        return NOT_A_CHOICE.format(
            item=r.item, annotator=r.annotator, what=what, value=value, choices=listing
        )

    return by_category, not_a_choice


def number_coder(level: Level) -> tuple[Encoder, Explainer]:
    """Codes a finite number as itself (bools are not numbers); explains any other value."""

    def by_number(values: list[Any]) -> np.ndarray:
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
        is_bool = np.fromiter((type(v) is bool for v in values), bool, len(values))
        return np.where(np.isfinite(numbers) & ~is_bool, numbers, math.nan)

    def not_a_number(r: Rating, what: str, value: Any) -> str:
        if is_multi(value):
            return MULTI_NEEDS_LIST.format(item=r.item, annotator=r.annotator, value=value)
        return NOT_A_NUMBER.format(item=r.item, annotator=r.annotator, what=what, value=value, level=level)

    return by_number, not_a_number


def build_table(
    rows: list[Rating], level: Level, categories: tuple[Any, ...], encode: Encoder, invalid: Explainer
) -> RatingTable:
    """The table of ``rows`` (whose values are not missing); ``encode`` codes, ``invalid`` explains."""
    item_codes, items = pd.factorize(pd.Series([r.item for r in rows], dtype=object), sort=True)
    rater_codes, annotators = pd.factorize(pd.Series([r.annotator for r in rows], dtype=object), sort=True)
    columns = {}
    for what, attribute in (("value", "value"), ("final label", "final"), ("gold answer", "gold")):
        values = [getattr(r, attribute) for r in rows]
        codes = encode(values)
        suspect = np.isnan(codes) & np.fromiter((v is not None for v in values), bool, len(values))
        for position in np.flatnonzero(suspect):
            if not is_missing(values[position]):
                raise InvalidInput(invalid(rows[position], what, values[position]))
        columns[attribute] = codes
    when = pd.to_datetime(pd.Series([r.when for r in rows], dtype=object), utc=True)
    key = item_codes.astype(np.int64) * max(len(annotators), 1) + rater_codes
    order = np.argsort(key, kind="stable")
    repeated = np.flatnonzero(np.diff(key[order]) == 0)
    if len(repeated):
        first = rows[order[repeated[0]]]
        raise InvalidInput(DUPLICATE.format(annotator=first.annotator, item=first.item))
    return RatingTable(
        level=level,
        items=tuple(items),
        annotators=tuple(annotators),
        categories=categories,
        item=item_codes[order].astype(np.intp),
        rater=rater_codes[order].astype(np.intp),
        code=columns["value"][order],
        final=columns["final"][order],
        gold=columns["gold"][order],
        when=when.to_numpy("datetime64[ns]")[order],
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _observed_order(rows: list[Rating], level: Level) -> tuple[Any, ...]:
    values = [r.value for r in rows] + [v for r in rows for v in (r.final, r.gold) if not is_missing(v)]
    return observed_order(values, level)


def observed_order(values: Iterable[Any], level: Level) -> tuple[Any, ...]:
    """The categories of a field given without choices: the values seen, sorted (numbers for ordinal)."""
    # An unhashable value (a list) is left to the coding step, which names it.
    seen = {v for v in values if _hashable(v)}
    is_number = all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen)
    if level is Level.ORDINAL and not is_number:
        raise InvalidInput(ORDINAL_NEEDS_ORDER)
    return tuple(sorted_values(seen))


def sorted_values(values: Iterable[Any]) -> list[Any]:
    # Mixed types do not compare in Python 3; sorting by type name, then text, is stable and total.
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))
