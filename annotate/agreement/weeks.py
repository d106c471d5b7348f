"""ISO weeks (UTC) of items, for the weekly trend: computed with integer arithmetic on datetime64.

An item belongs to the week of its last rating: the week its agreement became known. Which
week that is depends only on the items and the submit times, not on the field's values, so a
table computes it once (:attr:`RatingTable.weeks`) and the per-choice tables of a multi-choice
field share it. The tests hold :func:`iso_week_keys` to pandas' ``isocalendar``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Weeks:
    """The weeks items fall in: ``keys`` (G,) as year * 100 + week, in order; group -1 = undated."""

    keys: np.ndarray  # (G,) int
    group_of_item: np.ndarray  # (items,) int: index into keys, -1 for an item without a dated rating
    n_items: np.ndarray  # (G,) int: dated items per week
    n_undated: int  # items with ratings but no time


def iso_week_keys(when: np.ndarray) -> np.ndarray:
    """(N,) int year * 100 + ISO week of each datetime64 (no NaT): Monday starts a week, and week 1
    is the one holding the year's first Thursday, so a week belongs to the year of its Thursday."""
    days = when.astype("datetime64[D]").astype(np.int64)  # day 0, 1970-01-01, was a Thursday
    thursday = days - (days + 3) % 7 + 3  # (days + 3) % 7 is the weekday, Monday = 0
    year = thursday.astype("datetime64[D]").astype("datetime64[Y]")
    first_day = year.astype("datetime64[D]").astype(np.int64)
    return (year.astype(np.int64) + 1970) * 100 + (thursday - first_day) // 7 + 1


def item_weeks(item: np.ndarray, when: np.ndarray, raters_per_item: np.ndarray) -> Weeks:
    """The week of each item's last dated rating; ``item`` (R,) sorted, ``when`` (R,) datetime64[ns]."""
    dated = ~np.isnat(when)
    rated_item = item[dated]
    stamps = when[dated].view(np.int64)
    starts = np.flatnonzero(np.diff(rated_item, prepend=-1)) if len(rated_item) else np.zeros(0, dtype=int)
    last = np.maximum.reduceat(stamps, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    keys, week = np.unique(iso_week_keys(last.view("datetime64[ns]")), return_inverse=True)
    group_of_item = np.full(len(raters_per_item), -1)
    group_of_item[rated_item[starts]] = week
    n_undated = int((raters_per_item > 0).sum()) - len(starts)
    return Weeks(keys, group_of_item, np.bincount(week, minlength=len(keys)), n_undated)
