"""Automatic consensus: the majority stands only where the SOP's rule allows it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.agreement import consensus
from annotate.agreement.consensus import LOW_SHARE, NO_VOTES, TEXT_DIFFERS, TIE, TOO_FEW_VOTES
from flywheel.errors import InvalidInput


def test_two_of_three_reaches_consensus_under_a_two_thirds_rule():
    result = consensus(["bad", "good", "bad"], min_share=0.66, min_votes=2)
    assert result.reached and result.value == "bad"
    assert (result.votes, round(result.share, 4), result.reason) == (2, 0.6667, "2 of 3 votes")


def test_a_rule_written_as_exactly_two_thirds_accepts_two_of_three_despite_float_rounding():
    assert consensus(["x", "x", "y"], min_share=2 / 3).reached
    assert consensus(["x"] * 20 + ["y"] * 10, min_share=2 / 3).reached
    assert not consensus(["x", "x", "y"], min_share=0.67).reached  # the rule says more than 2/3


def test_a_share_below_the_rule_waits_for_a_lead():
    result = consensus(["x", "x", "y", "z"], min_share=0.66)
    assert not result.reached and result.value is None
    assert result.reason == LOW_SHARE.format(votes=2, n=4, share=0.5, min_share=0.66)
    assert result.reason == "the top value has 2 of 4 votes (0.500); the rule needs a share of 0.66"


def test_a_tie_never_reaches_consensus():
    result = consensus(["x", "x", "y", "y"], min_share=0.5)
    assert result.reason == TIE.format(tied=2, votes=2)


def test_a_lone_vote_is_not_a_consensus_under_the_default_two_votes():
    assert consensus(["x"], min_share=0.5).reason == TOO_FEW_VOTES.format(votes=1, min_votes=2)
    assert consensus(["x"], min_share=0.5, min_votes=1).value == "x"


def test_missing_votes_do_not_count():
    result = consensus(["x", None, math.nan, "x", "y"], min_share=0.66)
    assert result.value == "x" and result.share == pytest.approx(2 / 3)
    assert consensus([None, None], min_share=0.5).reason == NO_VOTES


def test_multi_choice_values_compare_as_sets_and_the_winner_is_an_original_vote():
    result = consensus([["tone", "facts"], ["facts", "tone"], ["facts"]], min_share=0.66)
    assert result.value == ["tone", "facts"] and result.votes == 2


def test_text_needs_every_answer_identical_after_normalising_space_and_unicode_form():
    same = ["Paris is  the capital.", " Paris is the capital. ", "Paris is the capital."]
    assert consensus(same, min_share=0.5, text=True).value == same[0]
    assert consensus(["Café", "Cafe\u0301"], min_share=0.5, text=True).reached  # NFC: the same word
    mostly = ["Paris.", "Paris.", "paris."]  # case is part of an answer
    assert consensus(mostly, min_share=0.5, text=True).reason == TEXT_DIFFERS


def test_bool_votes_are_categories():
    assert consensus([True, True, False], min_share=0.66).value is True


@pytest.mark.parametrize(("min_share", "min_votes"), [(0, 2), (1.2, 2), (0.5, 0)])
def test_a_malformed_rule_is_refused(min_share, min_votes):
    with pytest.raises(InvalidInput):
        consensus(["x"], min_share=min_share, min_votes=min_votes)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from("abc") | st.none(), max_size=7),
    st.sampled_from([0.34, 0.5, 0.66, 1.0]),
    st.integers(1, 3),
)
def test_a_reached_consensus_always_satisfies_the_rule(votes, min_share, min_votes):
    result = consensus(votes, min_share=min_share, min_votes=min_votes)
    present = [v for v in votes if v is not None]
    if result.reached:
        assert present.count(result.value) == result.votes >= min_votes
        assert result.votes / len(present) >= min_share - 1e-9
        assert all(present.count(v) < result.votes for v in set(present) - {result.value})
