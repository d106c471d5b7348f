"""YAML -> RuleSet -> YAML, and one readable InvalidInput for every kind of bad rules file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flywheel.errors import InvalidInput
from flywheel.rules import (
    AllOf,
    AnyOf,
    CostCompare,
    HasTag,
    InputRegex,
    InvalidRules,
    LatencyCompare,
    Level,
    LevelAtLeast,
    Not,
    Op,
    OutputNotJson,
    OutputRegex,
    OutputSchema,
    Rule,
    RuleSet,
    ScoreCompare,
    ScoreEquals,
    dump_rules,
    load_rules,
    model,
    rules_to_data,
)

ISSUE_EXAMPLE = """
rules:
  - name: thumbs-down
    score: {name: user-feedback, op: "<", value: 1}
  - name: broken-json
    output_not_json: true
  - name: slow-and-unhappy
    all:
      - latency_ms: {op: ">", value: 5000}
      - score: {name: helpfulness, op: "<", value: 0.5}
  - name: refusal-leak
    any:
      - output_regex: "(?i)lives at"
      - tag: escalated
"""


def docstring_example() -> str:
    """The complete example in flywheel/rules/model.py: the documentation must stay loadable."""
    assert model.__doc__ is not None
    block = model.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    return textwrap.dedent(block)


def problems_of(source) -> tuple[str, ...]:
    with pytest.raises(InvalidInput) as caught:
        load_rules(source)
    assert isinstance(caught.value, InvalidRules)
    return caught.value.problems


def only_problem(source) -> str:
    (problem,) = problems_of(source)
    return problem


def rule_yaml(body: str, name: str = "r") -> str:
    return f"rules:\n  - name: {name}\n    {body}\n"


def test_the_example_from_the_issue_loads_into_typed_rules():
    rules = load_rules(ISSUE_EXAMPLE)
    assert rules.names == ("thumbs-down", "broken-json", "slow-and-unhappy", "refusal-leak")
    assert rules.rules[0] == Rule("thumbs-down", ScoreCompare("user-feedback", Op.LT, 1.0))
    assert rules.rules[2].condition == AllOf(
        (LatencyCompare(Op.GT, 5000.0), ScoreCompare("helpfulness", Op.LT, 0.5))
    )
    assert rules.rules[3].condition == AnyOf((OutputRegex(re.compile("(?i)lives at")), HasTag("escalated")))


def test_the_documented_example_of_every_condition_kind_loads_and_round_trips():
    rules = load_rules(docstring_example())
    assert len(rules) == 14
    kinds = {type(rule.condition) for rule in rules}
    assert {ScoreCompare, ScoreEquals, LevelAtLeast, HasTag, OutputNotJson, OutputSchema} <= kinds
    assert {InputRegex, OutputRegex, LatencyCompare, CostCompare, AllOf, AnyOf} <= kinds
    assert not next(rule for rule in rules if rule.name == "address-leak").enabled
    assert load_rules(dump_rules(rules)) == rules


def test_dumped_yaml_is_plain_and_keeps_file_order():
    text = dump_rules(load_rules(ISSUE_EXAMPLE))
    assert text.startswith(
        "rules:\n- name: thumbs-down\n  score:\n    name: user-feedback\n    op: <\n    value: 1\n"
    )
    assert "value: 5000\n" in text


def test_rules_load_from_stored_json_data_as_well_as_yaml_text():
    rules = load_rules(ISSUE_EXAMPLE)
    assert load_rules(json.loads(json.dumps(rules_to_data(rules)))) == rules


def test_an_empty_rule_list_is_a_valid_rule_set():
    assert load_rules("rules: []") == RuleSet()


# --- round trip on generated rule sets --------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
numbers = st.floats(allow_nan=False, allow_infinity=False)
ops = st.sampled_from(Op)
SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "required": ["answer"]},
    {"type": "array", "items": {"$ref": "#/$defs/x"}, "$defs": {"x": {"enum": [1, "a", None, True]}}},
]
PATTERNS = ["(?i)lives at", r"\d{3}-\d{4}", r"^\s*$", "'quoted' \"both\" # not a comment"]
leaves = st.one_of(
    st.builds(ScoreCompare, names, ops, numbers),
    st.builds(ScoreEquals, names, st.text(min_size=1, max_size=20)),
    st.builds(LevelAtLeast, st.sampled_from(Level)),
    st.builds(HasTag, st.text(min_size=1, max_size=20)),
    st.just(OutputNotJson()),
    st.sampled_from(SCHEMAS).map(lambda schema: OutputSchema(schema)),
    st.sampled_from(PATTERNS).map(lambda pattern: InputRegex(re.compile(pattern))),
    st.sampled_from(PATTERNS).map(lambda pattern: OutputRegex(re.compile(pattern))),
    st.builds(LatencyCompare, ops, numbers),
    st.builds(CostCompare, ops, numbers),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: AllOf(tuple(parts))),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: AnyOf(tuple(parts))),
        inner.map(Not),
    ),
    max_leaves=6,
)
rule_sets = st.lists(
    st.builds(Rule, names, conditions, st.text(max_size=30), st.booleans()),
    max_size=4,
    unique_by=lambda rule: rule.name,
).map(lambda rules: RuleSet(tuple(rules)))


@settings(max_examples=150, deadline=None)
@given(rule_sets)
def test_dump_then_load_gives_an_equal_rule_set(rules):
    assert load_rules(dump_rules(rules)) == rules


# --- invalid rules: one InvalidInput, one readable line per problem ----------------------------


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            rule_yaml('score: {name: user-feedback, op: "=>", value: 1}', name="thumbs-down"),
            "rule 'thumbs-down': score.op must be one of <, <=, >, >=, ==, != (got '=>'); quote it in YAML",
        ),
        (
            rule_yaml("score: {name: s, op: '<', value: high}"),
            "rule 'r': score.value must be a finite number (got 'high')",
        ),
        (
            rule_yaml("score: {name: s, op: '<', value: .nan}"),
            "rule 'r': score.value must be a finite number (got nan)",
        ),
        (
            rule_yaml("score: {name: s, op: '<', value: true}"),
            "rule 'r': score.value must be a finite number (got true)",
        ),
        (rule_yaml("score: {name: s, op: '<'}"), "rule 'r': score.value is required"),
        (rule_yaml("score: {op: '<', value: 1}"), "rule 'r': score.name is required"),
        (
            rule_yaml("score: {name: s, op: '<', value: 1, equals: bad}"),
            "rule 'r': score takes either op and value, or equals, not both",
        ),
        (
            rule_yaml("score: {name: s}"),
            "rule 'r': score needs op and value (a numeric score) or equals (a categorical one)",
        ),
        (
            rule_yaml("score: {name: s, op: '<', value: 1, treshold: 2}"),
            "rule 'r': score.treshold is not a known key",
        ),
        (
            rule_yaml("scores: {name: s, equals: x}\n    score: {name: s, equals: x}"),
            "rule 'r': scores is not a known key (did you mean score?)",
        ),
        (
            rule_yaml("latency_ms: {'>': 5000}"),
            "rule 'r': latency_ms must be written {op: \">\", value: 5000}",
        ),
        (rule_yaml("cost: 0.5"), "rule 'r': cost must be a mapping with op, value (got 0.5)"),
        (rule_yaml("level: INFO"), "rule 'r': level must be ERROR or WARNING (got 'INFO')"),
        (rule_yaml("tag: ''"), "rule 'r': tag must be a non-empty string (got '')"),
        (rule_yaml("tag: yes"), "rule 'r': tag must be a non-empty string (got true); quote it in YAML"),
        (
            rule_yaml("output_not_json: false"),
            "rule 'r': output_not_json must be true (got false); "
            "to flag JSON output write not: {output_not_json: true}",
        ),
        (
            rule_yaml('output_regex: "(unclosed"'),
            "rule 'r': output_regex is not a valid regular expression: "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            rule_yaml(r'input_regex: "(\\w+\\s?)*$"'),
            "rule 'r': input_regex may take exponential time: a repeated group holds another unbounded "
            "repeat; make the inner repeat possessive (\\w++) or the group atomic ((?>...))",
        ),
        (
            rule_yaml("output_schema: {type: object, properties: {a: {type: strin}}}"),
            "rule 'r': output_schema is not a valid JSON Schema at '/properties/a/type': "
            "'strin' is not valid under any of the given schemas",
        ),
        (
            rule_yaml("output_schema: {items: {$ref: '#/$defs/missing'}}"),
            "rule 'r': output_schema has $ref '#/$defs/missing', which points to nothing in the schema",
        ),
        (
            rule_yaml("output_schema: {$ref: 'https://example.com/s.json'}"),
            "rule 'r': output_schema has $ref 'https://example.com/s.json': only references inside the "
            "schema ('#/...') are allowed",
        ),
        (
            rule_yaml("output_schema: {$schema: 'https://example.com/draft', type: object}"),
            "rule 'r': output_schema has an unknown $schema 'https://example.com/draft'",
        ),
        (
            rule_yaml("output_schema: [a]"),
            "rule 'r': output_schema must be a JSON Schema mapping (got a list)",
        ),
        (rule_yaml("all: []"), "rule 'r': all must be a non-empty list of conditions (got a list)"),
        (rule_yaml("any: {tag: a}"), "rule 'r': any must be a non-empty list of conditions (got a mapping)"),
        (rule_yaml("all: [tag]"), "rule 'r': all[0] must be a condition mapping (got 'tag')"),
        (
            rule_yaml("all: [{tag: a}, {not: {tag: b, level: ERROR}}]"),
            "rule 'r': all[1].not has 2 conditions (tag, level); combine them with all or any",
        ),
        (
            rule_yaml("tag: a\n    level: ERROR"),
            "rule 'r': has 2 conditions (tag, level); combine them with all or any",
        ),
        (
            rule_yaml("description: no condition"),
            "rule 'r': has no condition (add one of: score, level, tag, output_not_json, output_schema, "
            "input_regex, output_regex, latency_ms, cost, all, any, not)",
        ),
        (rule_yaml("tag: a\n    enabled: maybe"), "rule 'r': enabled must be true or false (got 'maybe')"),
        (rule_yaml("tag: a\n    description: [x]"), "rule 'r': description must be text (got a list)"),
        ("rules:\n  - tag: a\n", "rules[0]: name is required"),
        (
            "rules:\n  - {name: off, tag: a}\n",
            "rules[0]: name must be 1-100 characters without surrounding spaces (got false); "
            "quote it in YAML",
        ),
        (
            "rules:\n  - just a string\n",
            "rules[0] must be a mapping with a name and a condition (got 'just a string')",
        ),
        (
            "rules:\n  - {name: a, tag: x}\n  - {name: b, tag: y}\n  - {name: a, level: ERROR}\n",
            "rule 'a': the name is used more than once (rules[0], rules[2])",
        ),
        ("rules:\n  name: a\n  tag: x\n", "rules must be a list of rules (got a mapping)"),
        ("- {name: a, tag: x}\n", "the rules file must be a mapping with a 'rules' list (got a list)"),
        ("# all commented out\n", "the rules file is empty (a project without rules writes: rules: [])"),
        (
            'rules:\n  - name: a\n    score: {name: x, op: "<", value: 1\n  - name: b\n',
            "the rules are not valid YAML: expected ',' or '}', but got ':' (line 4, column 9)",
        ),
        (
            "rules:\n  - name: a\n\ttag: x\n",
            "the rules are not valid YAML: found character '\\t' that cannot start any token "
            "(line 3, column 1)",
        ),
        (
            "rules:\n  - name: a\n    tag: x\n    tag: y\n",
            "the rules are not valid YAML: the key 'tag' appears twice (line 4, column 5)",
        ),
    ],
)
def test_a_bad_rules_file_fails_with_one_readable_line_naming_the_rule_and_field(source, problem):
    assert problem in problems_of(source)


def test_every_problem_in_a_file_is_listed_in_one_error():
    source = """
rules:
  - name: thumbs-down
    score: {name: user-feedback, op: "=>", value: 1}
  - name: leak
    output_regex: "(a+)+"
  - description: unnamed
    tag: escalated
"""
    with pytest.raises(InvalidInput) as caught:
        load_rules(source)
    message = caught.value.message
    assert message.startswith("3 problems in the rules:\n- rule 'thumbs-down': score.op")
    assert "\n- rule 'leak': output_regex may take exponential time" in message
    assert "\n- rules[2]: name is required" in message
    assert caught.value.hint  # says where the syntax is documented


def test_an_error_message_is_a_single_line_when_there_is_one_problem():
    with pytest.raises(InvalidInput) as caught:
        load_rules(rule_yaml('score: {name: user-feedback, op: "=>", value: 1}', name="thumbs-down"))
    assert caught.value.message == (
        "rule 'thumbs-down': score.op must be one of <, <=, >, >=, ==, != (got '=>'); quote it in YAML"
    )


def test_a_long_bad_value_is_not_echoed_back():
    problem = only_problem(rule_yaml(f"level: {'X' * 200}"))
    assert problem == "rule 'r': level must be ERROR or WARNING (got a long string)"


def test_a_rule_set_built_in_code_refuses_duplicate_names_too():
    with pytest.raises(InvalidInput, match="rule 'a': the name is used more than once"):
        RuleSet((Rule("a", HasTag("x")), Rule("a", HasTag("y"))))


def test_an_output_schema_built_in_code_is_checked_too():
    with pytest.raises(InvalidInput, match="output_schema is not a valid JSON Schema"):
        OutputSchema({"type": 12})


def test_the_rules_package_does_not_import_django():
    code = "import sys, flywheel.rules; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
