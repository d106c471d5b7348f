"""Krippendorff's alpha: the library's value, missing values, undefined cases, a seeded bootstrap."""

from __future__ import annotations

import warnings
from typing import Any

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import annotate.agreement.alpha as alpha_module
from annotate.agreement import NEEDS_TWO, Rating, krippendorff_alpha, rating_table
from annotate.agreement.alpha import alpha_by_group
from flywheel.errors import InvalidInput
from tests.annotate.agreement.strategies import CATEGORIES, ratings

NAN = np.nan
# Krippendorff's own example (also the library's doctest): 3 coders, 15 units, holes.
KRIPPENDORFF = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]


def from_matrix(rows: list[list[float]]) -> list[Rating]:
    return [
        Rating(f"u{u:02d}", f"c{c}", int(v))
        for c, row in enumerate(rows)
        for u, v in enumerate(row)
        if not np.isnan(v)
    ]


def library(table, level: Any) -> float | None:
    """The library on the dense matrix; None where it raises or gives NaN (no pairable unit, one value)."""
    domain = np.arange(len(table.categories)) if table.level.is_categorical else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = krippendorff.alpha(table.matrix.T, value_domain=domain, level_of_measurement=level)
    except ValueError:
        return None
    return None if np.isnan(value) else float(value)


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.691358), ("interval", 0.810845)])
def test_krippendorffs_published_example(level, published):
    result = krippendorff_alpha(rating_table(from_matrix(KRIPPENDORFF), level=level), bootstrap=0)
    assert result.value == pytest.approx(published, abs=1e-6)
    # u00 has one value and u01, u13 none: 12 pairable units holding Krippendorff's n = 26 values.
    assert (result.n_items, result.n_pairable) == (12, 26)


def test_alpha_by_hand_on_a_small_nominal_table():
    # Items aaa, aab, bbb, abb; each ordered pair of an item's 3 values weighs 1/2.
    # Coincidences: o_aa = 3 + 1 = 4, o_bb = 4, o_ab = o_ba = 1 + 1 = 2; n_a = n_b = 6, n = 12.
    # Expected e_ab = e_ba = 6 * 6 / 11. alpha = 1 - (o_ab + o_ba) / (e_ab + e_ba) = 1 - 4 / (72/11) = 7/18.
    rows = [
        Rating(f"t{i}", f"r{a}", v)
        for i, row in enumerate(["aaa", "aab", "bbb", "abb"])
        for a, v in enumerate(row)
    ]
    assert krippendorff_alpha(rating_table(rows, level="nominal"), bootstrap=0).value == pytest.approx(7 / 18)


def test_one_annotator_gives_a_reason_not_a_crash():
    table = rating_table([Rating("t1", "ann", "x"), Rating("t2", "ann", "y")], level="nominal")
    result = krippendorff_alpha(table)
    assert result.to_dict() == {
        "value": None,
        "ci_low": None,
        "ci_high": None,
        "n_items": 0,
        "n_pairable": 0,
        "resamples": 0,
        "reason": NEEDS_TWO,
    }


def test_all_raters_agreeing_on_one_category_is_undefined_where_the_library_raises():
    rows = [Rating(f"t{i}", a, "good") for i in range(4) for a in ("ann", "bob")]
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff.alpha(rating_table(rows, level="nominal").matrix.T, level_of_measurement="nominal")
    result = krippendorff_alpha(rating_table(rows, level="nominal", categories=("good", "bad")))
    assert result.value is None
    assert result.reason == (
        "every rating is the same value ('good'); chance agreement is 1, so the statistic is 0/0"
    )


def test_a_category_seen_by_only_one_rater_counts_like_any_other():
    rows = from_matrix([[1, 1, 2, 2, 3], [1, 1, 2, 2, 2]])  # 3 only from c0
    table = rating_table(rows, level="ordinal")
    assert krippendorff_alpha(table, bootstrap=0).value == pytest.approx(library(table, "ordinal"))


def test_numeric_levels_need_numbers():
    with pytest.raises(InvalidInput, match="Level interval needs numbers"):
        krippendorff_alpha(rating_table([Rating("t", "a", "x")], level="nominal"), "interval")


@settings(max_examples=80, deadline=None)
@given(ratings(), st.sampled_from(["nominal", "ordinal"]))
def test_categorical_alpha_equals_the_library_with_missing_values(rows, level):
    table = rating_table(rows, level=level, categories=CATEGORIES)
    result = krippendorff_alpha(table, bootstrap=0)
    expected = library(table, level)
    assert result.value == (pytest.approx(expected, abs=1e-9) if expected is not None else None)
    assert (result.reason is None) == (expected is not None)


@settings(max_examples=80, deadline=None)
@given(ratings(values=st.integers(0, 6)), st.sampled_from(["ordinal", "interval", "ratio"]))
def test_numeric_alpha_equals_the_library(rows, level):
    table = rating_table(rows, level=level)
    expected = library(table, level)
    result = krippendorff_alpha(table, bootstrap=0)
    assert result.value == (pytest.approx(expected, abs=1e-9) if expected is not None else None)


@settings(max_examples=60, deadline=None)
@given(ratings(values=st.integers(0, 6)), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_our_own_sum_equals_the_library_where_the_library_would_need_too_much_memory(rows, level):
    # Forced: no library call, no grouping of items into patterns (the path for many distinct numbers).
    table = rating_table(rows, level="ordinal" if level == "ordinal" else "interval")
    expected = library(table, level)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alpha_module, "LIBRARY_CELLS", 0)
        patch.setattr(alpha_module, "PATTERN_MAX_VALUES", 0)
        result = krippendorff_alpha(table, level, bootstrap=20)
    assert result.value == (pytest.approx(expected, abs=1e-9) if expected is not None else None)


@settings(max_examples=40, deadline=None)
@given(ratings(max_items=40), st.sampled_from(["nominal", "ordinal"]), st.integers(1, 4))
def test_alpha_by_group_equals_alpha_of_each_groups_items(rows, level, n_groups):
    table = rating_table(rows, level=level, categories=CATEGORIES)
    group = np.arange(len(table.items)) % (n_groups + 1) - 1  # -1: in no group
    by_group = alpha_by_group(table, group, n_groups)
    for g in range(n_groups):
        alone = krippendorff_alpha(table.select(group[table.item] == g), bootstrap=0)
        assert by_group[g].value == (
            pytest.approx(alone.value, abs=1e-9) if alone.value is not None else None
        )
        assert (by_group[g].n_items, by_group[g].n_pairable) == (alone.n_items, alone.n_pairable)


def noisy_table(n_items: int = 300, seed: int = 5):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    rows = []
    for i in range(n_items):
        for a in rng.choice(6, size=int(rng.integers(2, 4)), replace=False):
            value = truth[i] if rng.random() < 0.7 else rng.integers(0, 3)
            rows.append(Rating(f"t{i}", f"a{a}", ("lo", "mid", "hi")[int(value)]))
    return rating_table(rows, level="ordinal", categories=("lo", "mid", "hi"))


def test_the_bootstrap_is_deterministic_with_a_seed_and_brackets_the_estimate():
    table = noisy_table()
    first, again = krippendorff_alpha(table, seed=7), krippendorff_alpha(table, seed=7)
    assert first == again
    assert krippendorff_alpha(table, seed=8).ci_low != first.ci_low
    assert first.ci_low < first.value < first.ci_high and first.resamples == 200
    assert krippendorff_alpha(table, bootstrap=0).ci_low is None


def test_resampling_patterns_matches_resampling_items_and_recomputing_with_the_library():
    # The shortcut (one multinomial draw over item patterns, weighted sums) must give the same
    # distribution as the slow textbook bootstrap; both seeded, so this is not flaky.
    table = noisy_table()
    ours = krippendorff_alpha(table, bootstrap=2000, seed=1)
    rng = np.random.default_rng(2)
    pairable = np.flatnonzero(table.raters_per_item >= 2)
    counts = np.stack([(table.matrix == c).sum(axis=1) for c in range(3)], axis=1)[pairable]
    slow = [
        krippendorff.alpha(
            value_counts=counts[rng.integers(0, len(counts), len(counts))], level_of_measurement="ordinal"
        )
        for _ in range(1000)
    ]
    low, high = np.percentile(slow, [2.5, 97.5])
    assert ours.ci_low == pytest.approx(low, abs=0.02) and ours.ci_high == pytest.approx(high, abs=0.02)
