"""Per-annotator quality: consensus and final agreement, gold accuracy, pace, confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

from annotate.agreement import Rating, Work, annotator_pace, annotator_stats, consensus, rating_table
from annotate.agreement.annotators import NO_CONSENSUS, NO_FINAL, NO_GOLD, NO_WORK, _leave_one_out
from tests.annotate.agreement.strategies import CATEGORIES, ratings

XYZ = ("x", "y", "z")


def small_round() -> list[Rating]:
    # i1: A x, B x, C y (final x)   i2: A y, B y, C y (final y, a gold task)   i3: A x, B y, C z.
    return [
        Rating("i1", "A", "x", final="x"),
        Rating("i1", "B", "x", final="x"),
        Rating("i1", "C", "y", final="x"),
        Rating("i2", "A", "y", final="y", gold="y"),
        Rating("i2", "B", "y", final="y", gold="y"),
        Rating("i2", "C", "y", final="y", gold="y"),
        Rating("i3", "A", "x"),
        Rating("i3", "B", "y"),
        Rating("i3", "C", "z"),
    ]


def test_agreement_with_consensus_leaves_the_annotators_own_vote_out():
    # Leave-one-out, rule 2 votes and share >= 0.5:
    #   i1: A sees [x, y] and B sees [x, y]: no consensus; C sees [x, x]: consensus x, C said y.
    #   i2: everyone sees [y, y]: consensus y, everyone matches.   i3: nobody sees a consensus.
    # So A: 1 of 1, B: 1 of 1, C: 1 of 2.
    rows = {
        s.annotator: s for s in annotator_stats(rating_table(small_round(), level="nominal", categories=XYZ))
    }
    assert [(rows[a].consensus_agreement.value, rows[a].consensus_agreement.n) for a in "ABC"] == [
        (1.0, 1),
        (1.0, 1),
        (0.5, 2),
    ]
    # Final labels exist on i1 and i2: A and B match both, C only i2. Gold is i2 only.
    assert rows["C"].final_agreement.value == 0.5 and rows["C"].final_agreement.n == 2
    assert rows["A"].gold_accuracy.value == 1.0 and rows["A"].gold_accuracy.n == 1


def test_the_confusion_matrix_rows_are_the_annotators_labels_and_columns_the_final_labels():
    rows = {
        s.annotator: s for s in annotator_stats(rating_table(small_round(), level="nominal", categories=XYZ))
    }
    # C: i1 said y, final x; i2 said y, final y. Rows and columns in schema order x, y, z.
    assert rows["C"].confusion.tolist() == [[0, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert rows["A"].confusion.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_missing_final_labels_gold_and_work_give_reasons():
    table = rating_table([Rating("i1", "A", "x"), Rating("i1", "B", "y")], level="nominal")
    row = annotator_stats(table)[0].to_dict()
    assert row["final_agreement"] == {"value": None, "n": 0, "reason": NO_FINAL}
    assert row["gold_accuracy"]["reason"] == NO_GOLD
    assert row["consensus_agreement"]["reason"] == NO_CONSENSUS
    assert row["rejection_rate"]["reason"] == NO_WORK
    assert row["items_per_hour"] is None and row["median_seconds"] is None


def test_pace_is_items_over_active_hours_and_the_median_of_seconds():
    work = [
        Work("A", "i1", seconds=30, rejected=True),
        Work("A", "i2", seconds=90),
        Work("A", "i3", seconds=None),  # not measured: counts as a submission, not as timed
        Work("A", "i4", seconds=60),
        Work("A", "i5", seconds=0),  # a clock glitch, untimed
        Work("B", "i1", seconds=45),
    ]
    pace = annotator_pace(work)
    # A: 5 submissions, 1 rejected; 3 timed in 30 + 90 + 60 = 180 s: 3 / 180 * 3600 = 60 per hour; median 60.
    assert pace["A"].rejection_rate.value == pytest.approx(0.2) and pace["A"].submitted == 5
    assert pace["A"].items_per_hour == pytest.approx(60.0) and pace["A"].median_seconds == 60.0
    assert pace["B"].median_seconds == 45.0 and pace["B"].items_per_hour == pytest.approx(80.0)
    # An annotator who only submitted work still gets a row; the pace columns join the field's.
    table = rating_table([Rating("i1", "B", "x")], level="nominal")
    rows = {s.annotator: s.to_dict() for s in annotator_stats(table, pace=pace)}
    assert rows["A"]["n_ratings"] == 0 and rows["A"]["items_per_hour"] == pytest.approx(60.0)
    assert rows["B"]["median_seconds"] == 45.0


def test_an_even_number_of_timed_submissions_has_the_mean_of_the_middle_two_as_median():
    pace = annotator_pace([Work("A", f"i{i}", seconds=s) for i, s in enumerate([10, 40, 20, 30])])
    assert pace["A"].median_seconds == 25.0


@settings(max_examples=60, deadline=None)
@given(ratings(max_annotators=5), st.sampled_from([0.34, 0.5, 0.66, 1.0]), st.integers(1, 3))
def test_leave_one_out_agrees_with_the_consensus_function(rows, min_share, min_votes):
    table = rating_table(rows, level="nominal", categories=CATEGORIES)
    reached, matched = _leave_one_out(table, min_share=min_share, min_votes=min_votes)
    for r in range(table.n_ratings):
        others = [
            CATEGORIES[int(c)] for k, c in enumerate(table.code) if table.item[k] == table.item[r] and k != r
        ]
        expected = consensus(others, min_share=min_share, min_votes=min_votes)
        assert reached[r] == expected.reached
        assert matched[r] == (expected.value == CATEGORIES[int(table.code[r])])


@settings(max_examples=40, deadline=None)
@given(ratings(max_annotators=4), st.data())
def test_confusion_matrices_equal_sklearns(rows, data):
    finals = {r.item: data.draw(st.sampled_from((*CATEGORIES, None))) for r in rows}
    rows = [Rating(r.item, r.annotator, r.value, final=finals[r.item]) for r in rows]
    table = rating_table(rows, level="nominal", categories=CATEGORIES)
    for stats in annotator_stats(table):
        mine = [r for r in rows if r.annotator == stats.annotator and r.final is not None]
        if not mine:  # sklearn refuses an empty sample; ours is all zeros
            assert not stats.confusion.any()
            continue
        expected = confusion_matrix([r.value for r in mine], [r.final for r in mine], labels=list(CATEGORIES))
        np.testing.assert_array_equal(stats.confusion, expected)
