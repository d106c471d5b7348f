"""Multi-choice fields: a set table, and one binary sub-field per choice.

A *set table* codes each distinct set of ticked choices as one nominal category, so "same set"
is "same category" (the order choices were ticked in means nothing); it serves exact-match
agreement and the per-annotator table. For agreement statistics, :func:`split_choices` makes one
binary sub-field per choice, "did this annotator tick choice c?", and each gets the full report.
Per-choice numbers say *which* choice annotators disagree on; one set-level number would not.
An empty list is a rating that ticked nothing (False for every choice); None is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from annotate.agreement.columns import RatingColumns, build_table_from_columns
from annotate.agreement.table import (
    NOT_A_CHOICE,
    Level,
    Rating,
    RatingTable,
    build_table,
    is_multi,
    present,
    sorted_values,
)

MIXED_MULTI = (
    "Item {item!r}, annotator {annotator!r}: {value!r} is not a list of choices; "
    "multi-choice values are lists."
)


_SEQUENCES = frozenset({list, tuple, set, frozenset})


def set_table(ratings: Iterable[Rating], *, choices: Sequence[Any] | None = None) -> RatingTable:
    """Code multi-choice ratings: each distinct set of ticked choices is one nominal category."""
    rows = present(ratings)
    if choices is None:
        choices = sorted_values({c for r in rows if is_multi(r.value) for c in r.value})
    coder = SetCoder(choices)
    table = build_table(rows, Level.NOMINAL, (), coder.encode, coder.explain)
    return coder.finish(table)


def set_table_from_columns(columns: RatingColumns, *, choices: Sequence[Any] | None = None) -> RatingTable:
    """:func:`set_table` of ratings held as columns (the same table, without a record per rating)."""
    rows = columns.present_rows()
    if choices is None:
        used = columns.value.levels_used(rows)
        choices = sorted_values({c for v in used if is_multi(v) for c in v})
    coder = SetCoder(choices)
    table = build_table_from_columns(columns, rows, Level.NOMINAL, (), coder.encode, coder.explain)
    return coder.finish(table)


class SetCoder:
    """Codes each distinct set of allowed choices as one category, numbered in order of first appearance.

    One coder serves a whole table: values first, then final labels, then gold answers, so a
    set seen only in a final label gets a code after every set annotators chose.
    """

    def __init__(self, choices: Sequence[Any]) -> None:
        self.allowed = tuple(choices)
        self._allowed_set, self._listing = set(self.allowed), ", ".join(map(repr, self.allowed))
        self._index: dict[frozenset[Any], float] = {}

    def _is_allowed(self, choice: Any) -> bool:
        try:
            return choice in self._allowed_set
        except TypeError:  # unhashable: a dict or list where a choice should be
            return False

    def encode(self, values: list[Any]) -> np.ndarray:
        # A field has few distinct lists; each is checked once, then found by its tuple.
        known: dict[tuple[Any, ...], float] = {}
        codes = np.full(len(values), np.nan)
        for position, value in enumerate(values):
            if value is None or (type(value) not in _SEQUENCES and not is_multi(value)):
                continue  # missing (NaN stays) or not a list (explained by the table builder)
            try:
                codes[position] = known[tuple(value)]
                continue
            except KeyError:
                pass
            except TypeError:  # an unhashable element: never a valid choice
                continue
            if all(self._is_allowed(c) for c in value):
                code = self._index.setdefault(frozenset(value), float(len(self._index)))
                codes[position] = known[tuple(value)] = code
        return codes

    def explain(self, r: Rating, what: str, value: Any) -> str:
        if not is_multi(value):
            return MIXED_MULTI.format(item=r.item, annotator=r.annotator, value=value)
        stray = next(c for c in value if not self._is_allowed(c))
        return NOT_A_CHOICE.format(
            item=r.item, annotator=r.annotator, what=what, value=stray, choices=self._listing
        )

    def finish(self, table: RatingTable) -> RatingTable:
        """The coded table with its categories: code -> set, in order of first appearance."""
        sets = tuple(sorted(self._index, key=self._index.__getitem__))
        return replace(table, categories=sets, is_sets=True, choices=self.allowed)


def split_choices(table: RatingTable) -> dict[Any, RatingTable]:
    """One binary nominal table per choice of a set table (categories ``(False, True)``: ticked?)."""
    out = {}
    for choice in table.choices:
        # Membership is decided once per distinct set, then spread to the ratings by their set code.
        ticked = np.array([choice in s for s in table.categories], dtype=float)

        def recode(codes: np.ndarray, ticked: np.ndarray = ticked) -> np.ndarray:
            known = ~np.isnan(codes)
            result = np.full(len(codes), np.nan)
            result[known] = ticked[codes[known].astype(int)]
            return result

        out[choice] = table.recoded(
            categories=(False, True),
            code=recode(table.code),
            final=recode(table.final),
            gold=recode(table.gold),
            is_sets=False,
            choices=(),
        )
    return out
