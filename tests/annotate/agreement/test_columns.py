"""Ratings as columns give the very tables, reports and errors that the same ratings as records give."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.agreement import (
    Coded,
    Rating,
    RatingColumns,
    RatingTable,
    Work,
    WorkColumns,
    annotator_pace,
    boundary_consistency,
    field_report,
    rating_table,
    rating_table_from_columns,
    set_table,
    set_table_from_columns,
    split_choices,
    weekly_trend,
)
from annotate.agreement.columns import utc_times
from flywheel.errors import InvalidInput
from tests.annotate.agreement.strategies import CATEGORIES, START, labeled

CHOICES = ("facts", "tone", "format")
TICKS = st.lists(st.sampled_from(CHOICES), max_size=4)
NUMBERS = st.one_of(st.integers(0, 6), st.floats(0, 6, allow_nan=False, width=16))


FORMS = st.sampled_from(["merged", "shuffled", "one per row"])


def as_read(
    rows: list[Rating], form: str = "shuffled", shuffle: random.Random | None = None
) -> RatingColumns:
    """The columns of ``rows`` in one of the forms a reader may build: equal values merged into one
    level (``from_ratings``), merged with the levels in an order of their own (a database reader's
    follow the stored labels, not these rows), or every value a level of its own."""
    plain = RatingColumns.from_ratings(rows)
    if form == "merged":
        return plain

    def recoded(values: list[Any]) -> Coded:
        if form == "one per row":
            codes = [-1 if v is None else k for k, v in enumerate(values)]
            return Coded(np.array(codes, dtype=np.intp), tuple(values))
        merged = Coded.of(values)
        order = list(range(len(merged.levels)))
        (shuffle or random.Random(0)).shuffle(order)
        position = np.append(np.argsort(order), -1)  # level k moves to position[k]; -1 stays
        return Coded(position[merged.codes], tuple(merged.levels[k] for k in order))

    return RatingColumns(
        items=plain.items,
        annotators=plain.annotators,
        item=plain.item,
        rater=plain.rater,
        when=plain.when,
        value=recoded([r.value for r in rows]),
        final=recoded([r.final for r in rows]),
        gold=recoded([r.gold for r in rows]),
    )


def outcome(build: Any) -> RatingTable | str:
    try:
        return build()
    except InvalidInput as error:
        return str(error)


def assert_same_table(got: RatingTable | str, expected: RatingTable | str) -> None:
    if isinstance(expected, str):
        assert got == expected
        return
    assert isinstance(got, RatingTable), got
    for name in ("level", "items", "annotators", "categories", "is_sets", "choices"):
        assert getattr(got, name) == getattr(expected, name), name
    for name in ("item", "rater", "code", "final", "gold", "when"):
        ours, theirs = getattr(got, name), getattr(expected, name)
        assert ours.dtype == theirs.dtype, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(labeled(), st.sampled_from(["nominal", "ordinal"]), FORMS, st.randoms())
def test_columns_give_the_table_the_same_ratings_give(rows, level, form, shuffle):
    columns = as_read(rows, form, shuffle)
    expected = outcome(lambda: rating_table(rows, level=level, categories=CATEGORIES))
    assert_same_table(
        outcome(lambda: rating_table_from_columns(columns, level=level, categories=CATEGORIES)), expected
    )


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(labeled(values=NUMBERS), st.sampled_from(["ordinal", "interval", "ratio"]), FORMS, st.randoms())
def test_numbers_in_columns_give_the_same_table_with_categories_or_without(rows, level, form, shuffle):
    columns = as_read(rows, form, shuffle)
    expected = outcome(lambda: rating_table(rows, level=level))
    assert_same_table(outcome(lambda: rating_table_from_columns(columns, level=level)), expected)


BAD = st.one_of(st.sampled_from(CATEGORIES), st.just("zz"), st.just(["a"]), st.just(math.nan), st.just(True))


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(labeled(values=BAD), st.sampled_from(["nominal", "ordinal", "interval"]), FORMS, st.randoms())
def test_a_bad_value_gives_the_same_error_naming_the_same_rating(rows, level, form, shuffle):
    columns = as_read(rows, form, shuffle)
    categories = CATEGORIES if level != "interval" else None
    expected = outcome(lambda: rating_table(rows, level=level, categories=categories))
    got = outcome(lambda: rating_table_from_columns(columns, level=level, categories=categories))
    assert_same_table(got, expected)


def test_a_rating_given_twice_is_refused_as_in_the_record_path():
    rows = [Rating("t1", "ann", "a"), Rating("t2", "bob", "b"), Rating("t1", "ann", "b")]
    message = "Annotator 'ann' rated item 't1' more than once; pass one rating per item and annotator."
    with pytest.raises(InvalidInput) as raised:
        rating_table_from_columns(RatingColumns.from_ratings(rows), level="nominal")
    assert str(raised.value) == message


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(labeled(values=TICKS), FORMS, st.booleans(), st.randoms())
def test_multi_choice_columns_give_the_same_set_table_and_per_choice_tables(
    rows, form, given_choices, shuffle
):
    columns = as_read(rows, form, shuffle)
    choices = CHOICES if given_choices else None
    expected = outcome(lambda: set_table(rows, choices=choices))
    got = outcome(lambda: set_table_from_columns(columns, choices=choices))
    assert_same_table(got, expected)
    if isinstance(expected, RatingTable) and isinstance(got, RatingTable):
        for (choice, ours), (same, theirs) in zip(
            split_choices(got).items(), split_choices(expected).items(), strict=True
        ):
            assert choice == same
            assert_same_table(ours, theirs)


def test_a_stray_choice_or_a_single_value_in_a_multi_choice_column_is_named_as_for_records():
    for rows in (
        [Rating("t", "a", ["tone", "rude"])],
        [Rating("t", "a", ["tone"]), Rating("t", "b", "tone")],
        [Rating("t", "a", ["tone"], final=["rude"])],
    ):
        expected = outcome(lambda rows=rows: set_table(rows, choices=("tone",)))
        assert isinstance(expected, str)
        assert (
            outcome(lambda rows=rows: set_table_from_columns(as_read(rows, "one per row"), choices=("tone",)))
            == expected
        )


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(labeled(), st.sampled_from(["nominal", "ordinal"]), st.data())
def test_a_report_from_columns_is_the_report_from_records(rows, level, data):
    shuffle = data.draw(st.randoms())
    work = [Work(r.annotator, r.item, seconds=float(len(r.item))) for r in rows]
    pace = annotator_pace(work)
    options: dict[str, Any] = {"level": level, "pace": pace, "bootstrap": 30, "min_shared": 1}
    expected = field_report(rows, categories=CATEGORIES, **options)
    assert field_report(as_read(rows, shuffle), categories=CATEGORIES, **options) == expected
    trend = weekly_trend(rows, level=level, categories=CATEGORIES)
    assert weekly_trend(as_read(rows, shuffle), level=level, categories=CATEGORIES) == trend
    boundary = set(data.draw(st.lists(st.sampled_from([r.item for r in rows] or ["none"]))))
    flags = [Rating(r.item, r.annotator, r.item < "item5", when=r.when) for r in rows]
    assert boundary_consistency(as_read(flags), boundary_items=boundary, bootstrap=30) == (
        boundary_consistency(flags, boundary_items=boundary, bootstrap=30)
    )


@settings(max_examples=30, deadline=None)
@given(labeled(values=TICKS), st.randoms())
def test_a_multi_choice_report_from_columns_is_the_report_from_records(rows, shuffle):
    options: dict[str, Any] = {"level": "nominal", "categories": CHOICES, "bootstrap": 30, "min_shared": 1}
    assert field_report(as_read(rows, shuffle), **options) == field_report(rows, **options)


def test_the_rows_back_as_ratings_are_those_with_a_value_with_times_in_utc():
    rows = [
        Rating("t1", "bob", "b", when=datetime(2025, 1, 6, 9, 30, 0, 250, tzinfo=UTC), final="a"),
        Rating("t1", "ann", None, when=START),
        Rating("t2", "ann", "c", gold="c"),
        Rating("t2", "bob", "c", when=datetime(2025, 1, 6, 9, 30)),  # naive: taken as UTC
    ]
    back = RatingColumns.from_ratings(rows).ratings()
    assert back[:2] == [rows[0], rows[2]] and back[1].when is None
    assert back[2].when == datetime(2025, 1, 6, 9, 30, tzinfo=UTC)


def test_times_as_texts_microseconds_or_datetimes_are_the_same_instants():
    moment = datetime(2026, 3, 2, 9, 15, 1, 123456, tzinfo=UTC)
    micros = int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    expected = np.array(["2026-03-02T09:15:01.123456", "NaT"], dtype="datetime64[ns]")
    for given_ in (
        [moment, None],
        [moment.replace(tzinfo=None), None],
        ["2026-03-02 09:15:01.123456", None],
        ["2026-03-02T09:15:01.123456+00:00", None],
        [micros, None],
    ):
        np.testing.assert_array_equal(utc_times(given_), expected)


def test_columns_must_line_up_and_their_names_be_sorted():
    columns = RatingColumns.from_ratings([Rating("t1", "ann", "a"), Rating("t2", "bob", "b")])
    with pytest.raises(ValueError, match="one entry per rating"):
        RatingColumns(**{**vars(columns), "item": columns.item[:1]})
    columns.check_names()
    with pytest.raises(ValueError, match="items must be sorted and distinct"):
        RatingColumns(**{**vars(columns), "items": ("t2", "t1")}).check_names()


def test_submissions_as_columns_give_the_records_back_and_the_same_pace():
    work = [
        Work("bob", "t1", seconds=30.0),
        Work("ann", "t1", seconds=None, rejected=True),
        Work("bob", "t2", seconds=90.0),
        Work("ann", "t3", seconds=0.0),
    ]
    columns = WorkColumns.from_work(work)
    assert columns.annotators == ("ann", "bob") and columns.work() == work
    pace = annotator_pace(columns)
    assert pace == annotator_pace(work)
    assert pace["bob"].items_per_hour == pytest.approx(2 / 120 * 3600) and pace["ann"].rejected == 1
    assert pace["ann"].n_timed == 0 and pace["ann"].median_seconds is None
