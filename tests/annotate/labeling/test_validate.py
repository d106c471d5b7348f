"""Validating and cleaning a submitted label against its schema."""

# Chinese test data is written with the full-width punctuation Chinese text really uses.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.labeling import (
    DEFAULT_SCHEMA_YAML,
    DEFAULT_SOP_MARKDOWN,
    FieldType,
    InvalidLabel,
    LabelSchema,
    clean_label,
    initial_values,
    parse_schema,
    validate_label,
)
from annotate.labeling.validate import (
    MUST_REFUSE,
    NO_MATCH,
    NOT_A_CHOICE,
    REQUIRED,
    TOO_LARGE,
    TOO_LONG,
    TOO_SMALL,
)
from flywheel.errors import InvalidInput

SCHEMA = parse_schema(DEFAULT_SCHEMA_YAML, sop_markdown=DEFAULT_SOP_MARKDOWN)
VALID = {"verdict": "bad", "sample_type": "negative", "corrected_output": "The store opens at 9."}

EXTRA = parse_schema(
    """
fields:
  - {name: ticket, type: text, validators: {regex: '^[A-Z]{2,5}-\\d+$'}}
  - {name: score, type: number, validators: {min: 0, max: 1}}
  - {name: turns, type: integer, validators: {min: 1}}
  - name: answer
    type: json
    validators:
      json_schema:
        type: object
        required: [items]
        properties:
          items: {type: array, items: {type: object, properties: {qty: {type: integer}}}}
  - {name: raw, type: text, validators: {must_parse_json: true}}
  - {name: reply, type: text, prefill: model_answer}
"""
)


def test_a_complete_label_is_valid():
    assert validate_label(SCHEMA, VALID) == {}


@pytest.mark.parametrize("missing", ["verdict", "sample_type"])
def test_a_required_field_left_out_or_blank_is_reported(missing):
    assert validate_label(SCHEMA, {**VALID, missing: None}) == {missing: [REQUIRED.format(field=missing)]}
    assert validate_label(SCHEMA, {**VALID, missing: "  "}) == {missing: [f"{missing} is required"]}


def test_a_value_that_is_not_a_choice_is_reported():
    assert validate_label(SCHEMA, {**VALID, "verdict": "meh"}) == {
        "verdict": ["verdict: 'meh' is not one of the choices"]
    }


def test_every_unknown_choice_of_a_multi_choice_is_reported():
    errors = validate_label(SCHEMA, {**VALID, "error_types": ["tone", "foo", "bar"]})
    assert errors == {
        "error_types": [
            "error_types: 'foo' is not one of the choices",
            NOT_A_CHOICE.format(field="error_types", value="bar"),
        ]
    }
    assert validate_label(SCHEMA, {**VALID, "error_types": ["tone", "broken JSON"]}) == {}


def test_a_text_longer_than_max_length_is_reported_with_both_lengths():
    errors = validate_label(SCHEMA, {**VALID, "domain": "x" * 101})
    assert errors == {"domain": [TOO_LONG.format(field="domain", length=101, limit=100)]}
    assert errors["domain"] == ["domain is too long: 101 characters (at most 100)"]


def test_a_text_that_does_not_match_the_regex_is_reported():
    assert validate_label(EXTRA, {"ticket": "OPS-42"}) == {}
    errors = validate_label(EXTRA, {"ticket": "ops 42"})
    assert errors == {"ticket": [NO_MATCH.format(field="ticket", pattern=r"^[A-Z]{2,5}-\d+$")]}


def test_a_json_parse_error_names_line_and_column():
    errors = validate_label(EXTRA, {"raw": '{"a": 1 "b": 2}'})
    assert errors == {"raw": ["raw: not valid JSON: Expecting ',' delimiter at line 1, column 9 (char 8)"]}
    errors = validate_label(EXTRA, {"answer": '{\n  "items": [1,\n}'})
    assert errors["answer"][0].startswith("answer: not valid JSON: Expecting value at line 3, column 1")


def test_nan_is_not_json():
    assert validate_label(EXTRA, {"raw": "[NaN]"}) == {
        "raw": ["raw: not valid JSON: NaN is not allowed in JSON"]
    }


def test_a_json_schema_failure_names_the_path():
    assert validate_label(EXTRA, {"answer": '{"items": [{"qty": 2}]}'}) == {}
    errors = validate_label(EXTRA, {"answer": '{"items": [{"qty": 2}, {"qty": "two"}]}'})
    assert errors == {
        "answer": ["answer: JSON does not match the schema at '/items/1/qty': 'two' is not of type 'integer'"]
    }
    errors = validate_label(EXTRA, {"answer": "{}"})
    assert errors == {
        "answer": ["answer: JSON does not match the schema at '/': 'items' is a required property"]
    }


def test_a_json_value_sent_already_parsed_is_checked_as_json():
    assert validate_label(EXTRA, {"answer": {"items": [{"qty": 1}]}}) == {}
    assert clean_label(EXTRA, {"answer": {"items": []}})["answer"] == '{"items": []}'


def test_with_must_refuse_set_the_corrected_output_must_read_as_a_refusal():
    label = {**VALID, "must_refuse": True, "sample_type": "boundary"}
    expected = {"corrected_output": ["corrected_output must read as a refusal because must_refuse is set"]}
    assert validate_label(SCHEMA, {**label, "corrected_output": "Sure, she lives at 12 Elm St."}) == expected
    assert validate_label(SCHEMA, {**label, "corrected_output": ""}) == expected
    assert validate_label(SCHEMA, {**label, "corrected_output": "I can't share someone's address."}) == {}
    assert validate_label(SCHEMA, {**label, "corrected_output": "抱歉，无法提供他人的住址。"}) == {}
    assert MUST_REFUSE.format(field="corrected_output", flag="must_refuse") == expected["corrected_output"][0]


def test_without_must_refuse_the_corrected_output_need_not_be_a_refusal():
    for flag in (False, "off", "false", None):
        assert validate_label(SCHEMA, {**VALID, "must_refuse": flag}) == {}
    assert validate_label(SCHEMA, {**VALID, "corrected_output": "I can't help with that."}) == {}


def test_with_a_json_output_format_the_corrected_answer_must_parse_unless_it_refuses():
    assert validate_label(SCHEMA, VALID, output_format="text") == {}
    errors = validate_label(SCHEMA, VALID, output_format="json")
    assert errors["corrected_output"][0].startswith(
        "corrected_output: not valid JSON: Expecting value at line 1"
    )
    assert (
        validate_label(SCHEMA, {**VALID, "corrected_output": '{"opens": "09:00"}'}, output_format="json")
        == {}
    )
    refusal = {**VALID, "must_refuse": "on", "corrected_output": "I can't help with that."}
    assert validate_label(SCHEMA, refusal, output_format="json") == {}


def test_an_unknown_output_format_is_refused():
    with pytest.raises(InvalidInput, match="output_format must be one of text, json"):
        validate_label(SCHEMA, VALID, output_format="xml")


def test_numbers_are_held_to_min_and_max():
    assert validate_label(EXTRA, {"score": "0.5", "turns": "3"}) == {}
    assert validate_label(EXTRA, {"score": -0.1}) == {"score": [TOO_SMALL.format(field="score", limit="0")]}
    assert validate_label(EXTRA, {"score": "1.5"}) == {"score": ["score must be at most 1"]}
    assert validate_label(EXTRA, {"turns": 0}) == {"turns": ["turns must be at least 1"]}
    assert TOO_LARGE.format(field="score", limit="1") == "score must be at most 1"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"score": "lots"}, {"score": ["score must be a number (got 'lots')"]}),
        ({"score": True}, {"score": ["score must be a number (got true)"]}),
        ({"score": "nan"}, {"score": ["score must be a number (got 'nan')"]}),
        ({"turns": "2.5"}, {"turns": ["turns must be a whole number (got '2.5')"]}),
        ({"ticket": 42}, {"ticket": ["ticket must be text (got 42)"]}),
    ],
)
def test_a_value_of_the_wrong_type_is_reported(values, expected):
    assert validate_label(EXTRA, values) == expected


def test_a_value_of_the_wrong_type_in_the_default_schema_is_reported():
    errors = validate_label(SCHEMA, {**VALID, "must_refuse": "maybe", "error_types": {"a": 1}})
    assert errors == {
        "error_types": ["error_types must be a list of choices (got a mapping)"],
        "must_refuse": ["must_refuse must be true or false (got 'maybe')"],
    }


def test_an_unknown_key_is_reported_with_a_suggestion():
    errors = validate_label(SCHEMA, {**VALID, "verdikt": "good", "zzz": 1})
    assert errors == {
        "verdikt": ["verdikt is not a field of this schema (did you mean verdict?)"],
        "zzz": ["zzz is not a field of this schema"],
    }


def test_errors_come_in_schema_order():
    errors = validate_label(SCHEMA, {"zzz": 1, "must_refuse": "on", "corrected_output": "ok"})
    assert list(errors) == ["verdict", "corrected_output", "sample_type", "zzz"]


def test_clean_label_normalises_every_field():
    cleaned = clean_label(
        SCHEMA,
        {
            "verdict": " bad ",
            "error_types": ["tone", "broken JSON", "tone", ""],
            "corrected_output": "Line one  \r\nLine two\r\n\r\n  ",
            "must_refuse": "on",
            "sample_type": "boundary",
            "difficulty": "",
        },
    )
    assert cleaned == {
        "verdict": "bad",
        "error_types": ["broken JSON", "tone"],
        "corrected_output": "Line one  \nLine two",
        "must_refuse": True,
        "sample_type": "boundary",
        "task_type": None,
        "difficulty": None,
        "domain": "",
        "notes": "",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(True, True), ("true", True), ("on", True), ("1", True), (1, True)],
        *[(False, False), ("off", False), ("false", False), ("", False), (None, False), (0, False)],
    ],
)
def test_clean_label_reads_bools_from_forms_and_json(raw, expected):
    assert clean_label(SCHEMA, {"must_refuse": raw})["must_refuse"] is expected


def test_clean_label_reads_numbers_from_strings():
    cleaned = clean_label(EXTRA, {"score": " 0.25 ", "turns": "7"})
    assert cleaned["score"] == 0.25
    assert cleaned["turns"] == 7
    assert isinstance(cleaned["turns"], int)
    assert clean_label(EXTRA, {"turns": 3.0})["turns"] == 3
    assert clean_label(EXTRA, {"score": 1})["score"] == 1.0


def test_clean_label_refuses_unknown_keys_and_wrong_types():
    with pytest.raises(InvalidLabel) as raised:
        clean_label(SCHEMA, {"verdict": "good", "verdikt": "good", "must_refuse": "maybe"})
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.errors == {
        "must_refuse": ["must_refuse must be true or false (got 'maybe')"],
        "verdikt": ["verdikt is not a field of this schema (did you mean verdict?)"],
    }


def test_the_form_starts_from_defaults_and_the_models_answer():
    schema = parse_schema(
        {
            "fields": [
                {"name": "difficulty", "type": "choice", "choices": ["easy", "hard"], "default": "easy"},
                {"name": "tags", "type": "multi_choice", "choices": ["a", "b", "c"], "default": ["c", "a"]},
                {"name": "reply", "type": "text", "prefill": "model_answer"},
                {"name": "flag", "type": "bool"},
            ]
        }
    )
    assert initial_values(schema, model_answer="Hello\r\n") == {
        "difficulty": "easy",
        "tags": ["a", "c"],
        "reply": "Hello",
        "flag": False,
    }


# Property: any combination of allowed values validates -------------------------------------


def valid_values(schema: LabelSchema) -> st.SearchStrategy[dict[str, Any]]:
    """Random labels built only from what the schema allows (refusal texts where one is due)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in schema:
        if field.type is FieldType.CHOICE:
            pick = st.sampled_from(field.choices)
            parts[field.name] = pick if field.required else st.none() | pick
        elif field.type is FieldType.MULTI_CHOICE:
            parts[field.name] = st.lists(
                st.sampled_from(field.choices), unique=True, min_size=int(field.required)
            )
        elif field.type is FieldType.BOOL:
            parts[field.name] = st.booleans() | st.sampled_from(["on", "off", "true", "false"])
        elif field.type.is_number:
            low, high = field.validators.min, field.validators.max
            parts[field.name] = st.integers(
                min_value=None if low is None else int(low), max_value=None if high is None else int(high)
            )
        elif field.type is FieldType.JSON:
            parts[field.name] = st.dictionaries(st.text(max_size=5), st.integers()).map(json.dumps)
        else:
            limit = min(field.validators.max_length or 200, 200)
            parts[field.name] = st.text(min_size=int(field.required), max_size=limit)
    return st.fixed_dictionaries(parts)


@settings(max_examples=150, deadline=None)
@given(values=valid_values(SCHEMA))
def test_any_label_made_of_allowed_values_validates(values):
    if clean_label(SCHEMA, values)["must_refuse"]:
        values = {**values, "corrected_output": "I'm sorry, but I can't help with that."}
    assert validate_label(SCHEMA, values) == {}
    assert validate_label(SCHEMA, clean_label(SCHEMA, values)) == {}


MIXED = parse_schema(
    {
        "fields": [
            {
                "name": "level",
                "type": "choice",
                "required": True,
                "ordinal": True,
                "choices": ["lo", "mid", "hi"],
            },
            {"name": "tags", "type": "multi_choice", "required": True, "choices": ["a", "b", "c", "d"]},
            {"name": "turns", "type": "integer", "required": True, "validators": {"min": 1, "max": 50}},
            {"name": "score", "type": "number", "validators": {"min": -3, "max": 3}},
            {"name": "payload", "type": "json", "required": True},
            {"name": "note", "type": "text", "validators": {"max_length": 10}},
        ]
    }
)


@settings(max_examples=150, deadline=None)
@given(values=valid_values(MIXED))
def test_any_label_made_of_allowed_values_validates_for_every_field_type(values):
    assert validate_label(MIXED, values) == {}


@settings(max_examples=100, deadline=None)
@given(values=valid_values(SCHEMA))
def test_cleaning_a_clean_label_changes_nothing(values):
    cleaned = clean_label(SCHEMA, values)
    assert clean_label(SCHEMA, cleaned) == cleaned
