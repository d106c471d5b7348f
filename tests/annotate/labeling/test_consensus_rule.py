"""The label schema's consensus rule: defaults, every mistake a lead can make, storage."""

from __future__ import annotations

import pytest

from annotate.labeling import ConsensusRule, InvalidSchema, parse_schema, schema_to_dict

FIELDS = [
    {"name": "verdict", "type": "choice", "choices": ["good", "bad"]},
    {"name": "must_refuse", "type": "bool"},
    {"name": "notes", "type": "text"},
]


def problems_of(consensus) -> tuple[str, ...]:
    with pytest.raises(InvalidSchema) as raised:
        parse_schema({"fields": FIELDS, "consensus": consensus})
    return raised.value.problems


def test_without_a_consensus_key_the_rule_is_two_of_three_over_the_categorical_fields():
    rule = parse_schema({"fields": FIELDS}).consensus
    assert rule == ConsensusRule(min_share=0.66, min_votes=2, fields=())


def test_a_rule_with_every_key_loads_as_written():
    rule = parse_schema(
        {"fields": FIELDS, "consensus": {"min_share": 1, "min_votes": 3, "fields": ["verdict"]}}
    ).consensus
    assert rule == ConsensusRule(min_share=1.0, min_votes=3, fields=("verdict",))


def test_a_missing_key_keeps_its_default():
    assert parse_schema({"fields": FIELDS, "consensus": {"min_votes": 3}}).consensus == ConsensusRule(
        min_votes=3
    )
    assert parse_schema({"fields": FIELDS, "consensus": {}}).consensus == ConsensusRule()


def test_the_rule_is_read_from_yaml_too():
    text = "fields:\n  - {name: verdict, type: choice, choices: [good, bad]}\nconsensus:\n  min_share: 0.75\n"
    assert parse_schema(text).consensus.min_share == 0.75


@pytest.mark.parametrize(
    ("consensus", "problem"),
    [
        ("majority", "consensus must be a mapping with min_share, min_votes, fields (got 'majority')"),
        ({"min_share": 0}, "consensus.min_share must be a number in (0, 1] (got 0)"),
        ({"min_share": 1.5}, "consensus.min_share must be a number in (0, 1] (got 1.5)"),
        ({"min_share": "2/3"}, "consensus.min_share must be a number in (0, 1] (got '2/3')"),
        ({"min_share": True}, "consensus.min_share must be a number in (0, 1] (got true)"),
        ({"min_votes": 0}, "consensus.min_votes must be a whole number of at least 1 (got 0)"),
        ({"min_votes": 2.5}, "consensus.min_votes must be a whole number of at least 1 (got 2.5)"),
        ({"fields": "verdict"}, "consensus.fields must be a list of field names (got 'verdict')"),
        ({"fields": [1]}, "consensus.fields must be a list of field names (got a list)"),
        ({"fields": ["verdikt"]}, "consensus.fields names 'verdikt', not a field (did you mean verdict?)"),
        ({"fields": ["verdict", "verdict"]}, "consensus.fields names 'verdict' more than once"),
        ({"min_shares": 0.5}, "consensus has an unknown key 'min_shares' (did you mean min_share?)"),
    ],
)
def test_every_mistake_in_the_rule_is_reported_in_words(consensus, problem):
    assert problem in problems_of(consensus)


def test_several_mistakes_are_reported_together_with_the_fields_own():
    with pytest.raises(InvalidSchema) as raised:
        parse_schema(
            {
                "fields": [*FIELDS, {"name": "extra", "type": "colour"}],
                "consensus": {"min_share": 2, "min_votes": -1},
            }
        )
    problems = raised.value.problems
    assert len(problems) == 3
    assert any("type" in p and "colour" in p for p in problems)


def test_the_rule_survives_storage_and_reads_back_equal():
    schema = parse_schema({"fields": FIELDS, "consensus": {"min_share": 0.8, "fields": ["must_refuse"]}})
    stored = schema_to_dict(schema)
    assert stored["consensus"] == {"min_share": 0.8, "min_votes": 2, "fields": ["must_refuse"]}
    assert parse_schema(stored) == schema
