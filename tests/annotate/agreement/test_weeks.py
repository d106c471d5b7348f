"""ISO weeks of items for the weekly trend: the calendar arithmetic equals pandas' isocalendar."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.agreement import Rating, rating_table
from annotate.agreement.weeks import iso_week_keys, item_weeks
from tests.annotate.agreement.strategies import labeled

MOMENTS = st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 12, 31))


def pandas_keys(when: np.ndarray) -> np.ndarray:
    calendar = pd.DatetimeIndex(when).isocalendar()
    return calendar["year"].to_numpy().astype(int) * 100 + calendar["week"].to_numpy().astype(int)


@settings(max_examples=200, deadline=None)
@given(st.lists(MOMENTS, min_size=1, max_size=50))
def test_week_keys_are_pandas_isocalendar_years_and_weeks(moments):
    when = np.array(moments, dtype="datetime64[ns]")
    np.testing.assert_array_equal(iso_week_keys(when), pandas_keys(when))


def test_the_days_around_new_year_belong_to_the_week_of_their_thursday():
    days = ["2024-12-29", "2024-12-30", "2025-01-05", "2025-01-06", "2020-12-31", "2021-01-03", "2021-01-04"]
    keys = iso_week_keys(np.array(days, dtype="datetime64[ns]")).tolist()
    assert keys == [202452, 202501, 202501, 202502, 202053, 202053, 202101]


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(labeled())
def test_each_item_falls_in_the_week_of_its_last_dated_rating(rows):
    table = rating_table(rows, level="nominal")
    weeks = item_weeks(table.item, table.when, table.raters_per_item)
    dated = ~np.isnat(table.when)
    last = pd.Series(table.when[dated]).groupby(table.item[dated]).max()
    expected = np.full(len(table.items), -1)
    if len(last):
        keys, week = np.unique(pandas_keys(last.to_numpy()), return_inverse=True)
        expected[last.index.to_numpy()] = week
        np.testing.assert_array_equal(weeks.keys, keys)
    np.testing.assert_array_equal(weeks.group_of_item, expected)
    assert weeks.n_items.sum() == len(last)
    assert weeks.n_undated == int((table.raters_per_item > 0).sum()) - len(last)


def test_an_item_rated_only_at_unknown_times_is_undated():
    monday = datetime(2025, 1, 6, 9, tzinfo=UTC)
    rows = [Rating("t1", "a", "x"), Rating("t1", "b", "x"), Rating("t2", "a", "x", when=monday)]
    weeks = rating_table(rows, level="nominal").weeks
    assert weeks.keys.tolist() == [202502] and weeks.group_of_item.tolist() == [-1, 0]
    assert weeks.n_items.tolist() == [1] and weeks.n_undated == 1
