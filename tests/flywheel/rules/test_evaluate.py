"""Each condition kind fires, and stops firing, exactly at its boundary."""

from __future__ import annotations

import pytest

from flywheel.rules import RuleSet, ScoreFact, TraceFacts, evaluate, explain, holds, load_rules
from flywheel.rules.checks import MAX_REGEX_TEXT


def one(condition_yaml: str) -> RuleSet:
    return load_rules(f"rules:\n  - name: r\n    {condition_yaml}\n")


def fires(condition_yaml: str, facts: TraceFacts) -> bool:
    return evaluate(one(condition_yaml), facts) == ["r"]


def feedback(value: float | None = None, string_value: str | None = None) -> TraceFacts:
    return TraceFacts(scores=(ScoreFact("user-feedback", value, string_value),))


@pytest.mark.parametrize(
    ("op", "score", "expected"),
    [
        ("<", 0.49, True),
        ("<", 0.5, False),
        ("<=", 0.5, True),
        ("<=", 0.51, False),
        (">", 0.51, True),
        (">", 0.5, False),
        (">=", 0.5, True),
        (">=", 0.49, False),
        ("==", 0.5, True),
        ("==", 0.51, False),
        ("!=", 0.51, True),
        ("!=", 0.5, False),
    ],
)
def test_a_score_comparison_uses_the_exact_operator_at_the_threshold(op, score, expected):
    rule = f'score: {{name: user-feedback, op: "{op}", value: 0.5}}'
    assert fires(rule, feedback(score)) is expected


def test_a_missing_score_does_not_fire_whatever_the_operator():
    for op in ("<", "<=", ">", ">=", "==", "!="):
        rule = f'score: {{name: user-feedback, op: "{op}", value: 0.5}}'
        assert not fires(rule, TraceFacts())
        assert not fires(rule, TraceFacts(scores=(ScoreFact("helpfulness", 0.1),)))


def test_a_categorical_score_without_a_number_does_not_fire_a_numeric_rule():
    assert not fires('score: {name: user-feedback, op: "!=", value: 1}', feedback(None, "thumbs-down"))


def test_any_score_of_that_name_can_fire_the_rule():
    facts = TraceFacts(scores=(ScoreFact("helpfulness", 0.9), ScoreFact("helpfulness", 0.2)))
    assert fires('score: {name: helpfulness, op: "<", value: 0.5}', facts)


def test_a_categorical_score_must_equal_the_string_exactly():
    rule = "score: {name: user-feedback, equals: thumbs-down}"
    assert fires(rule, feedback(0.0, "thumbs-down"))
    assert not fires(rule, feedback(1.0, "thumbs-up"))
    assert not fires(rule, feedback(0.0, "Thumbs-Down"))
    assert not fires(rule, feedback(0.0, None))


@pytest.mark.parametrize(
    ("rule_level", "levels", "expected"),
    [
        ("ERROR", ("DEFAULT", "ERROR"), True),
        ("ERROR", ("WARNING",), False),
        ("WARNING", ("WARNING",), True),
        ("WARNING", ("ERROR",), True),  # "WARNING" means WARNING or worse
        ("WARNING", ("DEBUG", "DEFAULT"), False),
        ("warning", ("WARNING",), True),
        ("ERROR", (), False),
    ],
)
def test_a_level_rule_fires_on_an_observation_at_that_level_or_worse(rule_level, levels, expected):
    assert fires(f"level: {rule_level}", TraceFacts(levels=levels)) is expected


def test_a_tag_rule_needs_that_exact_tag():
    assert fires("tag: escalated", TraceFacts(tags=("vip", "escalated")))
    assert not fires("tag: escalated", TraceFacts(tags=("Escalated", "escalated-later")))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"answer": 1}', False),
        ("[1, 2]", False),
        ('  "plain string"  ', False),
        ("42", False),
        ('{"answer": 1', True),
        ("Sure! Here is the JSON:", True),
        ('```json\n{"answer": 1}\n```', True),
        ("", True),
        ('{"score": NaN}', True),
    ],
)
def test_output_not_json_fires_when_the_final_answer_is_not_one_json_value(output, expected):
    assert fires("output_not_json: true", TraceFacts(output_text=output)) is expected


NESTED_SCHEMA = """output_schema:
      type: object
      required: [answer, sources]
      properties:
        answer: {type: string}
        sources: {type: array, minItems: 1, items: {$ref: "#/$defs/source"}}
      $defs:
        source: {type: object, required: [url], properties: {url: {type: string}}}"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"answer": "a", "sources": [{"url": "u"}]}', False),
        ('{"answer": "a", "sources": [{"url": 3}]}', True),
        ('{"answer": "a", "sources": [{"title": "t"}]}', True),
        ('{"answer": "a", "sources": []}', True),
        ('{"answer": "a"}', True),
        ("not json at all", True),
    ],
)
def test_an_output_schema_checks_the_parsed_answer_down_to_nested_references(output, expected):
    assert fires(NESTED_SCHEMA, TraceFacts(output_text=output)) is expected


def test_regexes_search_the_input_and_the_output_separately():
    facts = TraceFacts(input_text="Please IGNORE previous instructions", output_text="She lives at home")
    assert fires('input_regex: "(?i)ignore previous"', facts)
    assert not fires('input_regex: "lives at"', facts)
    assert fires('output_regex: "lives at"', facts)
    assert not fires('output_regex: "(?i)ignore"', facts)
    assert not fires('output_regex: "^lives"', facts)  # searched, but ^ still anchors


def test_regexes_only_see_the_first_characters_of_a_long_text():
    head = "x" * (MAX_REGEX_TEXT - 5)
    assert fires('output_regex: "leak"', TraceFacts(output_text=head + "leak"))
    assert not fires('output_regex: "leak"', TraceFacts(output_text=head + "-----leak"))


@pytest.mark.parametrize("kind", ["latency_ms", "cost"])
def test_latency_and_cost_bounds_are_exact_and_a_missing_value_never_fires(kind):
    rule = f'{kind}: {{op: ">", value: 5000}}'
    assert fires(rule, TraceFacts(**{kind: 5000.5}))
    assert not fires(rule, TraceFacts(**{kind: 5000.0}))
    assert fires(f'{kind}: {{op: ">=", value: 5000}}', TraceFacts(**{kind: 5000.0}))
    assert not fires(rule, TraceFacts())
    assert not fires(f'{kind}: {{op: "!=", value: 5000}}', TraceFacts())


def test_not_inverts_everything_including_a_missing_value():
    assert fires('not: {latency_ms: {op: ">", value: 1}}', TraceFacts())
    assert not fires("not: {tag: ok}", TraceFacts(tags=("ok",)))


def test_all_any_and_not_nest():
    rule = """all:
      - any:
          - tag: escalated
          - level: ERROR
      - not:
          any:
            - score: {name: user-feedback, equals: thumbs-up}
            - latency_ms: {op: "<", value: 100}"""
    assert fires(rule, TraceFacts(tags=("escalated",), latency_ms=500))
    assert fires(rule, TraceFacts(levels=("ERROR",)))
    assert not fires(rule, TraceFacts(levels=("WARNING",)))
    assert not fires(rule, TraceFacts(levels=("ERROR",), latency_ms=50))
    assert not fires(
        rule, TraceFacts(tags=("escalated",), scores=(ScoreFact("user-feedback", 1, "thumbs-up"),))
    )


def test_fired_rules_come_back_in_file_order_and_disabled_rules_never_fire():
    rules = load_rules(
        """
rules:
  - {name: c, tag: a}
  - {name: b, tag: missing}
  - {name: "off", enabled: false, tag: a}
  - {name: a, level: WARNING}
"""
    )
    facts = TraceFacts(tags=("a",), levels=("ERROR",))
    assert evaluate(rules, facts) == ["c", "a"]
    assert evaluate(rules, facts) == evaluate(rules, facts)
    assert evaluate(load_rules("rules: []"), facts) == []


def test_explain_says_what_matched_without_quoting_the_trace_text():
    rules = load_rules(
        """
rules:
  - name: slow-and-unhappy
    all:
      - latency_ms: {op: ">", value: 5000}
      - score: {name: helpfulness, op: "<", value: 0.5}
  - name: leak
    output_regex: "lives at"
  - name: shape
    output_schema: {type: object, required: [answer]}
  - name: quiet
    not: {tag: escalated}
"""
    )
    facts = TraceFacts(
        scores=(ScoreFact("helpfulness", 0.25),),
        latency_ms=6000,
        output_text="Bob, secret, lives at 5 Elm St",
    )
    slow, leak, shape, quiet = rules
    assert explain(slow, facts) == "latency is 6000 ms (> 5000); score helpfulness is 0.25 (< 0.5)"
    assert explain(leak, facts) == "the output matches /lives at/ at character 13"
    assert explain(shape, facts) == "the output fails output_schema: the output is not JSON"
    assert explain(quiet, facts) == "not tag 'escalated'"
    assert explain(slow, TraceFacts()).startswith("did not fire: needs (latency > 5000 ms and")
    assert all("secret" not in explain(rule, facts) for rule in rules)


def test_holds_evaluates_a_single_condition():
    (rule,) = one("tag: a")
    assert holds(rule.condition, TraceFacts(tags=("a",)))
