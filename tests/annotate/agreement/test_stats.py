"""Percent agreement, Cohen's kappa for every pair, Fleiss' kappa: by hand and against the libraries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from annotate.agreement import NEEDS_TWO, Rating, fleiss, pairwise_cohen, percent_agreement, rating_table
from annotate.agreement.stats import FEW_SHARED, NO_PAIR, NO_SHARED, PAIR_NO_VARIATION
from flywheel.errors import InvalidInput
from tests.annotate.agreement.strategies import CATEGORIES, ratings

YES_NO = ("yes", "no")


def two_raters(pairs: list[tuple[str, str]], names: tuple[str, str] = ("ann", "bob")) -> list[Rating]:
    return [
        Rating(f"t{i}", name, v) for i, pair in enumerate(pairs) for name, v in zip(names, pair, strict=True)
    ]


def three_by_four() -> list[Rating]:
    # Items [a,a,a] [a,a,b] [b,b,b] [a,b,b] by raters r0, r1, r2.
    rows = ["aaa", "aab", "bbb", "abb"]
    return [Rating(f"t{i}", f"r{a}", v) for i, row in enumerate(rows) for a, v in enumerate(row)]


# --- percent agreement -------------------------------------------------------------------------


def test_percent_agreement_averages_each_items_share_of_agreeing_pairs():
    # Per item: aaa 3/3, aab 1/3 (aa; ab, ab disagree), bbb 3/3, abb 1/3: mean (1 + 1/3 + 1 + 1/3) / 4 = 2/3.
    result = percent_agreement(rating_table(three_by_four(), level="nominal"))
    assert result.value == pytest.approx(2 / 3)
    assert (result.n_items, result.n_pairable) == (4, 12)


def test_percent_agreement_of_a_single_annotator_is_undefined_with_a_reason():
    result = percent_agreement(
        rating_table([Rating("t1", "ann", "x"), Rating("t2", "ann", "y")], level="nominal")
    )
    assert result.value is None and result.reason == NEEDS_TWO == "needs at least 2 annotators on one item"


@settings(max_examples=60, deadline=None)
@given(ratings())
def test_percent_agreement_matches_a_brute_force_count(rows):
    table = rating_table(rows, level="nominal", categories=CATEGORIES)
    shares = []
    for row in table.matrix:
        v = row[~np.isnan(row)]
        if len(v) >= 2:
            agree = sum(v[i] == v[j] for i in range(len(v)) for j in range(i + 1, len(v)))
            shares.append(agree / (len(v) * (len(v) - 1) / 2))
    result = percent_agreement(table)
    assert result.value == (pytest.approx(np.mean(shares)) if shares else None)


# --- Cohen -------------------------------------------------------------------------------------


def test_cohen_by_hand_on_the_textbook_table():
    # 50 items: both yes 20, ann yes/bob no 5, ann no/bob yes 10, both no 15.
    # p_o = 35/50 = 0.7; ann says yes 25/50, bob 30/50: p_e = .5*.6 + .5*.4 = 0.5; kappa = (.7-.5)/.5 = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    result = pairwise_cohen(rating_table(two_raters(pairs), level="nominal", categories=YES_NO))
    assert result.kappa[0, 1] == result.kappa[1, 0] == pytest.approx(0.4)
    assert result.shared.tolist() == [[50, 50], [50, 50]]
    assert np.isnan(result.kappa[0, 0]) and result.mean == pytest.approx(0.4)


def test_weighted_cohen_by_hand_uses_schema_distances():
    # ann 0,1,2,0 and bob 0,2,2,1 (easy=0 .. hard=2). Rows ann [2,1,1], columns bob [1,1,2], n=4.
    # linear: observed sum |i-j| = 0+1+0+1 = 2; expected sum r_i c_j |i-j| / n = (2*5 + 1*3 + 1*3)/4 = 4;
    #   kappa = 1 - 2/4 = 0.5.
    # quadratic: observed 2; expected (2*9 + 1*3 + 1*5)/4 = 6.5; kappa = 1 - 2/6.5 = 0.6923.
    levels = ("easy", "medium", "hard")
    pairs = [("easy", "easy"), ("medium", "hard"), ("hard", "hard"), ("easy", "medium")]
    table = rating_table(two_raters(pairs), level="ordinal", categories=levels)
    assert pairwise_cohen(table, "linear", min_shared=1).kappa[0, 1] == pytest.approx(0.5)
    assert pairwise_cohen(table, "quadratic", min_shared=1).kappa[0, 1] == pytest.approx(1 - 2 / 6.5)


def test_undefined_pairs_say_why():
    rows = two_raters([("yes", "yes")] * 12, names=("ann", "bob"))  # no variation
    rows += two_raters([("yes", "no")] * 3, names=("cy", "dee"))  # too few shared items
    rows = [
        r if r.annotator not in ("cy", "dee") else Rating("u" + r.item, r.annotator, r.value) for r in rows
    ]
    result = pairwise_cohen(rating_table(rows, level="nominal", categories=YES_NO))
    reasons = result.to_dict()["undefined"]
    assert {"a": "ann", "b": "bob", "reason": PAIR_NO_VARIATION} in reasons
    assert {"a": "cy", "b": "dee", "reason": FEW_SHARED.format(n=3, min_shared=10)} in reasons
    assert {"a": "ann", "b": "cy", "reason": NO_SHARED} in reasons
    assert result.mean is None and result.reason == NO_PAIR


def test_a_single_annotator_has_no_pairs():
    result = pairwise_cohen(rating_table([Rating("t", "ann", "yes")], level="nominal"))
    assert result.to_dict()["kappa"] == [[None]] and result.reason == NEEDS_TWO


def test_weighted_kappa_needs_an_ordinal_field():
    with pytest.raises(InvalidInput, match="Weighted kappa needs an ordinal field"):
        pairwise_cohen(rating_table([Rating("t", "a", "x")], level="nominal"), "linear")
    with pytest.raises(InvalidInput, match="expected linear, quadratic or None"):
        pairwise_cohen(rating_table([Rating("t", "a", "x")], level="nominal"), "cubic")


def test_kappa_is_not_defined_for_numbers():
    result = pairwise_cohen(rating_table([Rating("t", "a", 1.0), Rating("t", "b", 2.0)], level="interval"))
    assert result.reason == "defined for categorical fields only; see alpha for interval values"


@settings(max_examples=60, deadline=None)
@given(ratings(), st.sampled_from([None, "linear", "quadratic"]))
def test_every_pairs_kappa_equals_sklearns_on_the_items_both_rated(rows, weights):
    table = rating_table(rows, level="ordinal", categories=CATEGORIES)
    result = pairwise_cohen(table, weights, min_shared=1)
    m, labels = table.matrix, list(range(len(CATEGORIES)))
    for i in range(len(table.annotators)):
        for j in range(i + 1, len(table.annotators)):
            both = ~np.isnan(m[:, i]) & ~np.isnan(m[:, j])
            assert result.shared[i, j] == both.sum()
            if not both.any():
                assert np.isnan(result.kappa[i, j])
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = cohen_kappa_score(m[both, i], m[both, j], labels=labels, weights=weights)
            if np.isnan(expected):
                assert np.isnan(result.kappa[i, j]) and (i, j) in result.reasons
            else:
                assert result.kappa[i, j] == pytest.approx(expected, abs=1e-12)


# --- Fleiss ------------------------------------------------------------------------------------


def test_fleiss_by_hand():
    # Counts (a, b): (3,0) (2,1) (0,3) (1,2). P_i = (sum n^2 - 3) / 6: 1, 1/3, 1, 1/3; mean 2/3.
    # p_a = p_b = 6/12; P_e = 0.5. kappa = (2/3 - 1/2) / (1/2) = 1/3.
    result = fleiss(rating_table(three_by_four(), level="nominal"))
    assert result.value == pytest.approx(1 / 3)
    assert (result.n_items, result.raters_per_item, result.n_items_excluded) == (4, 3, 0)


def test_fleiss_uses_the_items_with_the_modal_rater_count_and_says_how_many_it_left_out():
    rows = [*three_by_four(), Rating("x1", "r0", "a"), Rating("x1", "r1", "b"), Rating("x2", "r0", "a")]
    result = fleiss(rating_table(rows, level="nominal"))
    assert result.value == pytest.approx(1 / 3)  # x1 (2 raters) left out, x2 is not pairable
    assert (result.n_items, result.raters_per_item, result.n_items_excluded) == (4, 3, 1)


def test_fleiss_when_everyone_gave_one_category_is_undefined_not_one():
    rows = [Rating(f"t{i}", f"r{a}", "a") for i in range(5) for a in range(3)]
    result = fleiss(rating_table(rows, level="nominal", categories=("a", "b")))
    assert result.value is None and result.reason.startswith("every rating is the same value ('a')")


@settings(max_examples=60, deadline=None)
@given(ratings(missing=0.0))
def test_fleiss_equals_statsmodels_on_complete_tables(rows):
    table = rating_table(rows, level="nominal", categories=CATEGORIES)
    result = fleiss(table)
    if len(table.annotators) < 2:
        assert result.reason == NEEDS_TWO
        return
    counts = np.stack([(table.matrix == c).sum(axis=1) for c in range(len(CATEGORIES))], axis=1)
    if (counts.sum(axis=0) > 0).sum() < 2:
        assert result.value is None
        return
    assert result.value == pytest.approx(fleiss_kappa(counts), abs=1e-12)
