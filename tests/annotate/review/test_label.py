"""A whole label's consensus by the SOP's rule: when overlapped items need no lead."""

from __future__ import annotations

import pytest

from annotate.agreement.consensus import LOW_SHARE, TEXT_DIFFERS, TIE, TOO_FEW_VOTES
from annotate.labeling import parse_schema
from annotate.review import label_consensus
from annotate.review.label import ANSWERS_DIFFER, TOO_FEW, rule_fields
from tests.annotate.review.conftest import label


def test_two_agreeing_labels_reach_consensus_and_the_label_is_the_earliest_vote(schema):
    first = label(notes="checked the tracking page", domain="shipping")
    second = label(notes="", domain="logistics")
    outcome = label_consensus(schema, [first, second])
    assert outcome.reached and outcome.agreeing == (0, 1)
    assert outcome.values == first  # notes and domain are that annotator's, not a blend
    assert outcome.summary() == "consensus of 2 annotators"


def test_one_vote_is_never_a_consensus(schema):
    outcome = label_consensus(schema, [label()])
    assert not outcome.reached
    assert outcome.reasons == {"*": TOO_FEW.format(n=1, needed=2)}


def test_a_tie_on_a_categorical_field_waits_for_a_lead_and_names_the_field(schema):
    outcome = label_consensus(schema, [label(verdict="good"), label(verdict="bad")])
    assert not outcome.reached and outcome.values is None
    assert outcome.reasons == {"verdict": f"good 1, bad 1 ({TOO_FEW_VOTES.format(votes=1, min_votes=2)})"}
    assert outcome.summary() == "verdict: good 1, bad 1 (the top value has 1 vote(s); the rule needs 2)"


def test_a_tie_between_pairs_of_votes_waits_for_a_lead(schema):
    votes = [label(verdict="good"), label(verdict="bad"), label(verdict="good"), label(verdict="bad")]
    outcome = label_consensus(schema, votes)
    assert outcome.reasons == {"verdict": f"good 2, bad 2 ({TIE.format(tied=2, votes=2)})"}


def test_two_of_three_is_a_majority_under_the_default_rule(schema):
    votes = [label(sample_type="golden", verdict="good"), label(), label()]
    outcome = label_consensus(schema, votes)
    assert outcome.reached and outcome.agreeing == (1, 2)
    assert outcome.values["verdict"] == "bad" and outcome.values["sample_type"] == "negative"


def test_min_share_decides_whether_two_of_three_is_enough():
    strict = parse_schema(
        {
            "fields": [{"name": "verdict", "type": "choice", "choices": ["good", "bad"]}],
            "consensus": {"min_share": 0.75},
        }
    )
    outcome = label_consensus(strict, [{"verdict": "bad"}, {"verdict": "bad"}, {"verdict": "good"}])
    assert not outcome.reached
    low = LOW_SHARE.format(votes=2, n=3, share=2 / 3, min_share=0.75)
    assert outcome.reasons["verdict"] == f"bad 2, good 1 ({low})"
    unanimous = [{"verdict": "bad"}] * 3
    assert label_consensus(strict, unanimous).reached


def test_min_votes_above_two_needs_that_many_annotators():
    rule = parse_schema(
        {
            "fields": [{"name": "verdict", "type": "choice", "choices": ["good", "bad"]}],
            "consensus": {"min_votes": 3},
        }
    )
    outcome = label_consensus(rule, [{"verdict": "bad"}, {"verdict": "bad"}])
    assert outcome.reasons == {"*": TOO_FEW.format(n=2, needed=3)}


def test_corrected_answers_that_differ_wait_for_a_lead_even_when_every_choice_agrees(schema):
    votes = [label(corrected_output="It ships tomorrow."), label(corrected_output="It shipped today.")]
    outcome = label_consensus(schema, votes)
    assert not outcome.reached
    assert outcome.reasons == {"corrected_output": ANSWERS_DIFFER}


def test_corrected_answers_that_differ_only_in_spacing_agree(schema):
    votes = [label(corrected_output="It ships\ntomorrow."), label(corrected_output="It ships  tomorrow.")]
    assert label_consensus(schema, votes).reached


def test_case_is_a_real_difference_in_a_corrected_answer(schema):
    votes = [label(corrected_output="Paris"), label(corrected_output="paris")]
    assert "corrected_output" in label_consensus(schema, votes).reasons


def test_a_minority_vote_with_another_answer_does_not_block_the_majoritys_answer(schema):
    votes = [label(), label(verdict="good", sample_type="golden", corrected_output="Other."), label()]
    outcome = label_consensus(schema, votes)
    assert outcome.reached and outcome.values["corrected_output"] == "It ships tomorrow."


def test_an_optional_field_both_annotators_left_empty_is_agreement(schema):
    votes = [label(difficulty=None, task_type=None), label(difficulty=None, task_type=None)]
    outcome = label_consensus(schema, votes)
    assert outcome.reached and outcome.values["difficulty"] is None


def test_one_answer_against_an_empty_field_is_a_disagreement(schema):
    outcome = label_consensus(schema, [label(difficulty="hard"), label(difficulty=None)])
    too_few = TOO_FEW_VOTES.format(votes=1, min_votes=2)
    assert outcome.reasons == {"difficulty": f"hard 1, (empty) 1 ({too_few})"}


def test_multi_choice_values_agree_as_sets(schema):
    votes = [
        label(error_types=["Wrong facts", "Ignores the question"]),
        label(error_types=["Ignores the question", "Wrong facts"]),
    ]
    assert label_consensus(schema, votes).reached
    split = label_consensus(schema, [label(error_types=["b", "a"]), label()])
    assert split.reasons["error_types"].startswith("[a, b] 1, (empty) 1 (")
    assert "must_refuse" in label_consensus(schema, [label(must_refuse=True), label()]).reasons


def test_the_default_rule_covers_every_choice_multi_choice_and_bool_field(schema):
    assert rule_fields(schema) == (
        "verdict",
        "error_types",
        "must_refuse",
        "sample_type",
        "task_type",
        "difficulty",
    )


def test_only_the_rules_fields_need_a_majority_and_the_rest_come_from_the_earliest_agreeing_vote():
    schema = parse_schema(
        {
            "fields": [
                {"name": "verdict", "type": "choice", "choices": ["good", "bad"]},
                {"name": "difficulty", "type": "choice", "choices": ["easy", "hard"]},
            ],
            "consensus": {"fields": ["verdict"]},
        }
    )
    votes = [{"verdict": "good", "difficulty": "hard"}, {"verdict": "good", "difficulty": "easy"}]
    outcome = label_consensus(schema, votes)
    assert outcome.reached and outcome.values == {"verdict": "good", "difficulty": "hard"}


@pytest.mark.parametrize(
    ("answers", "reached"),
    [(["Refund within 30 days.", "Refund within  30 days."], True), (["30 days.", "14 days."], False)],
)
def test_a_text_field_named_in_the_rule_must_be_identical_whitespace_aside(answers, reached):
    schema = parse_schema(
        {"fields": [{"name": "summary", "type": "text"}], "consensus": {"fields": ["summary"]}}
    )
    outcome = label_consensus(schema, [{"summary": a} for a in answers])
    assert outcome.reached is reached
    if not reached:
        assert outcome.reasons == {"summary": TEXT_DIFFERS}
