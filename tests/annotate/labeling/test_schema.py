"""The label schema: loading, the problems a lead can make, storage and diffs."""

from __future__ import annotations

import json

import pytest

import annotate.labeling.schema as schema_module
from annotate.labeling import (
    DEFAULT_SCHEMA_YAML,
    DEFAULT_SOP_MARKDOWN,
    ChoicesFrom,
    FieldType,
    InvalidSchema,
    LabelSchema,
    Prefill,
    common_errors,
    parse_schema,
    schema_diff,
    schema_to_dict,
)
from flywheel.errors import InvalidInput

VERDICT = {"name": "verdict", "type": "choice", "choices": ["good", "bad"]}
MUST_REFUSE = {"name": "must_refuse", "type": "bool"}


def default_schema() -> LabelSchema:
    return parse_schema(DEFAULT_SCHEMA_YAML, sop_markdown=DEFAULT_SOP_MARKDOWN)


def problems_of(fields: list[dict], *, sop_markdown: str = DEFAULT_SOP_MARKDOWN) -> tuple[str, ...]:
    with pytest.raises(InvalidSchema) as raised:
        parse_schema({"fields": fields}, sop_markdown=sop_markdown)
    assert isinstance(raised.value, InvalidInput)
    return raised.value.problems


def test_the_default_schema_loads_with_the_fields_the_domain_needs():
    schema = default_schema()
    assert schema.names == (
        "verdict",
        "error_types",
        "corrected_output",
        "must_refuse",
        "sample_type",
        "task_type",
        "difficulty",
        "domain",
        "notes",
    )
    assert schema.field("verdict").required
    assert schema.field("sample_type").choices == ("golden", "negative", "boundary", "generic")
    assert schema.field("difficulty").ordinal
    assert schema.field("difficulty").choices == ("easy", "medium", "hard")
    corrected = schema.field("corrected_output")
    assert corrected.prefill is Prefill.MODEL_ANSWER
    assert corrected.validators.refusal_when == "must_refuse"
    assert corrected.validators.max_length == 20000
    assert schema.field("domain").type is FieldType.TEXT
    assert not schema.field("domain").required


def test_choices_from_common_errors_are_resolved_against_the_sop():
    field = default_schema().field("error_types")
    assert field.choices_from is ChoicesFrom.COMMON_ERRORS
    assert field.choices == tuple(common_errors(DEFAULT_SOP_MARKDOWN))
    other = parse_schema(DEFAULT_SCHEMA_YAML, sop_markdown="## Common errors\n\n- too long\n- too short\n")
    assert other.field("error_types").choices == ("too long", "too short")


def test_labels_default_to_the_capitalised_name():
    assert default_schema().field("error_types").label == "Error types"
    assert (
        parse_schema({"fields": [{**VERDICT, "label": "Is it good?"}]}).field("verdict").label
        == "Is it good?"
    )


def test_choice_fields_with_at_most_nine_choices_get_shortcut_keys_by_default():
    many = {"name": "topic", "type": "choice", "choices": [f"t{i}" for i in range(10)]}
    off = {**VERDICT, "name": "off", "shortcut_keys": False}
    schema = parse_schema({"fields": [VERDICT, many, off, {"name": "notes", "type": "text"}]})
    assert [field.shortcut_keys for field in schema] == [True, False, False, False]


def test_the_schema_reads_from_json_text_too():
    schema = parse_schema(json.dumps({"fields": [VERDICT]}))
    assert schema.field("verdict").choices == ("good", "bad")


def test_the_stored_dict_reads_back_into_an_equal_schema():
    schema = default_schema()
    stored = json.loads(json.dumps(schema_to_dict(schema)))
    assert parse_schema(stored, sop_markdown=DEFAULT_SOP_MARKDOWN) == schema


def test_the_stored_dict_carries_every_key_and_the_resolved_choices_for_the_browser():
    field = schema_to_dict(default_schema())["fields"][1]
    assert field == {
        "name": "error_types",
        "type": "multi_choice",
        "label": "Error types",
        "help": "Every common error the answer makes (from the SOP).",
        "required": False,
        "choices": common_errors(DEFAULT_SOP_MARKDOWN),
        "choices_from": "common_errors",
        "ordinal": False,
        "default": None,
        "prefill": None,
        "shortcut_keys": True,
        "validators": {},
    }


def test_the_syntax_example_in_the_module_docs_loads():
    example = schema_module.__doc__.split("::", 1)[1].split("``json_schema``", 1)[0]
    schema = parse_schema(example, sop_markdown=DEFAULT_SOP_MARKDOWN)
    assert schema.field("difficulty").default == "medium"
    assert schema.field("corrected_output").validators.json_schema == {
        "type": "object",
        "required": ["answer"],
    }


def test_a_schema_is_immutable():
    schema = default_schema()
    with pytest.raises(AttributeError):
        schema.field("verdict").required = False  # type: ignore[misc]


INVALID_FIELDS = [
    pytest.param(
        [{"name": "x", "type": "dropdown"}],
        "field 'x' (fields[0]): type 'dropdown' is not a known type "
        "(one of choice, multi_choice, bool, text, json, number, integer)",
        id="unknown type",
    ),
    pytest.param([{"name": "x"}], "field 'x' (fields[0]): type is required", id="missing type"),
    pytest.param(
        [VERDICT, {**VERDICT, "choices": ["yes", "no"]}],
        "field 'verdict' (fields[0], fields[1]): name is used more than once",
        id="duplicate names",
    ),
    pytest.param(
        [{"name": "notes", "type": "text", "choices": ["a"]}],
        "field 'notes' (fields[0]): choices applies to choice and multi_choice fields only, not text",
        id="choices on a text field",
    ),
    pytest.param(
        [{"name": "notes", "type": "text", "validators": {"regex": "(unclosed"}}],
        "field 'notes' (fields[0]): validators.regex is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
        id="bad regex",
    ),
    pytest.param(
        [{"name": "notes", "type": "text", "validators": {"regex": "(a+)+$"}}],
        "field 'notes' (fields[0]): validators.regex may take exponential time",
        id="exponential regex",
    ),
    pytest.param(
        [{"name": "answer", "type": "json", "validators": {"json_schema": {"type": "objekt"}}}],
        "field 'answer' (fields[0]): validators.json_schema is not a valid JSON Schema at '/type'",
        id="bad JSON schema",
    ),
    pytest.param(
        [{"name": "answer", "type": "json", "validators": {"json_schema": {"$ref": "https://x.example/s"}}}],
        "field 'answer' (fields[0]): validators.json_schema has $ref 'https://x.example/s': "
        "only references inside the schema",
        id="JSON schema with an outside reference",
    ),
    pytest.param(
        [MUST_REFUSE, {"name": "out", "type": "text", "validators": {"refusal_when": "must_refus"}}],
        "field 'out' (fields[1]): validators.refusal_when names 'must_refus', which is not a field of "
        "this schema (did you mean must_refuse?)",
        id="refusal_when names a missing field",
    ),
    pytest.param(
        [VERDICT, {"name": "out", "type": "text", "validators": {"refusal_when": "verdict"}}],
        "field 'out' (fields[1]): validators.refusal_when names 'verdict', a choice field; "
        "it must name a bool field",
        id="refusal_when names a non-bool field",
    ),
    pytest.param(
        [{"name": "error_types", "type": "multi_choice", "choices_from": "common_errors"}],
        "field 'error_types' (fields[0]): choices_from common_errors: the SOP lists no common errors",
        id="choices_from with no common errors in the SOP",
    ),
    pytest.param(
        [{"name": "error_types", "type": "multi_choice", "choices_from": "errors"}],
        "field 'error_types' (fields[0]): choices_from must be common_errors (got 'errors')",
        id="unknown choices_from",
    ),
    pytest.param(
        [{"name": "verdict", "type": "choice"}],
        "field 'verdict' (fields[0]): choices are required: give choices (a list) or choices_from",
        id="choice field without choices",
    ),
    pytest.param(
        [{**VERDICT, "choises": ["a"]}],
        "field 'verdict' (fields[0]): choises is not a known key (did you mean choices?)",
        id="unknown key",
    ),
    pytest.param(
        [{"name": "notes", "type": "text", "validators": {"maxlength": 5}}],
        "field 'notes' (fields[0]): validators.maxlength is not a known validator (did you mean max_length?)",
        id="unknown validator",
    ),
    pytest.param(
        [{"name": "notes", "type": "text", "validators": {"min": 1}}],
        "field 'notes' (fields[0]): validators.min applies to number and integer fields only, not text",
        id="number validator on text",
    ),
    pytest.param(
        [{"name": "answer", "type": "json", "validators": {"must_parse_json": True}}],
        "field 'answer' (fields[0]): validators.must_parse_json applies to text fields only, not json",
        id="must_parse_json on a json field",
    ),
    pytest.param(
        [{"name": "score", "type": "number", "validators": {"min": 5, "max": 1}}],
        "field 'score' (fields[0]): validators.min (5) is greater than validators.max (1)",
        id="min above max",
    ),
    pytest.param(
        [{"name": "notes", "type": "text", "validators": {"max_length": 0}}],
        "field 'notes' (fields[0]): validators.max_length must be a whole number of at least 1 (got 0)",
        id="max_length zero",
    ),
    pytest.param(
        [{"name": "tags", "type": "multi_choice", "ordinal": True, "choices": ["a", "b"]}],
        "field 'tags' (fields[0]): ordinal applies to choice fields only, not multi_choice",
        id="ordinal on multi_choice",
    ),
    pytest.param(
        [{**VERDICT, "prefill": "model_answer"}],
        "field 'verdict' (fields[0]): prefill applies to text and json fields only, not choice",
        id="prefill on a choice field",
    ),
    pytest.param(
        [{"name": "out", "type": "text", "prefill": "model_answer", "default": "x"}],
        "field 'out' (fields[0]): default and prefill both set the starting value; keep one",
        id="default and prefill",
    ),
    pytest.param(
        [{**MUST_REFUSE, "required": True}],
        "field 'must_refuse' (fields[0]): required does not apply to a bool field",
        id="required bool",
    ),
    pytest.param(
        [{"name": "topic", "type": "choice", "shortcut_keys": True, "choices": [str(i) for i in range(10)]}],
        "field 'topic' (fields[0]): shortcut_keys needs a choice field with at most 9 choices "
        "(this is 10 choices)",
        id="shortcut keys for ten choices",
    ),
    pytest.param(
        [{**VERDICT, "name": "Verdict!"}],
        "field 'Verdict!' (fields[0]): name must be a lower-case identifier",
        id="bad name",
    ),
    pytest.param(
        [{**VERDICT, "name": "annotator"}],
        "field 'annotator' (fields[0]): name 'annotator' is reserved",
        id="reserved name",
    ),
    pytest.param(
        [{**VERDICT, "choices": ["maybe", True]}],
        "field 'verdict' (fields[0]): choices[1] must be non-empty text (got true); quote it in YAML",
        id="unquoted yes/no choices",
    ),
    pytest.param(
        [{**VERDICT, "choices": ["good", "good"]}],
        "field 'verdict' (fields[0]): choices lists 'good' more than once",
        id="repeated choice",
    ),
    pytest.param(
        [{**VERDICT, "default": "meh"}],
        "field 'verdict' (fields[0]): default must be one of the choices (got 'meh')",
        id="default not a choice",
    ),
    pytest.param(
        [{"name": "error_types", "type": "multi_choice", "choices_from": "common_errors", "choices": ["x"]}],
        "field 'error_types' (fields[0]): choices differ from the SOP's common errors",
        id="choices disagreeing with choices_from",
    ),
    pytest.param(
        ["verdict"], "fields[0] must be a mapping with a name and a type (got 'verdict')", id="not a mapping"
    ),
]


@pytest.mark.parametrize(("fields", "expected"), INVALID_FIELDS)
def test_each_kind_of_invalid_schema_names_the_field_and_the_key(fields, expected):
    problems = problems_of(
        fields, sop_markdown="" if "no common errors" in expected else DEFAULT_SOP_MARKDOWN
    )
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_yes_and_no_must_be_quoted_in_yaml_choices():
    source = "fields:\n  - {name: agree, type: choice, choices: [yes, no]}\n"
    with pytest.raises(InvalidSchema, match=r"choices\[0\] must be non-empty text \(got true\); quote it"):
        parse_schema(source)
    assert parse_schema(source.replace("[yes, no]", "['yes', 'no']")).field("agree").choices == ("yes", "no")


def test_every_problem_is_listed_in_one_error():
    fields = [
        {"name": "x", "type": "dropdown"},
        {"name": "notes", "type": "text", "choices": ["a"], "validators": {"regex": "("}},
    ]
    with pytest.raises(InvalidSchema) as raised:
        parse_schema({"fields": fields})
    assert len(raised.value.problems) == 3
    assert raised.value.message.startswith("3 problems in the label schema:\n- field 'x' (fields[0]): type")
    assert "schema.py" in raised.value.hint


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", "the label schema is empty"),
        ("- a\n- b\n", "the label schema must be a mapping with a 'fields' list (got a list)"),
        ("feilds: []\n", "the label schema has an unknown key 'feilds' (did you mean fields?)"),
        ("fields: []\n", "fields must be a non-empty list of fields (got a list)"),
        ("fields:\n  - name: a\n    name: b\n", "the key 'name' appears twice (line 3, column 5)"),
        ("fields: [\n", "the label schema is not valid YAML"),
        ('{"fields": [}', "the label schema is not valid JSON: Expecting value (line 1, column 13)"),
    ],
)
def test_a_schema_file_that_is_not_a_schema_says_why(source, expected):
    with pytest.raises(InvalidSchema) as raised:
        parse_schema(source)
    assert expected in raised.value.message


def test_a_key_left_at_its_empty_value_is_the_same_as_leaving_it_out():
    explicit = {
        **VERDICT,
        "help": None,
        "choices_from": None,
        "validators": {"regex": None},
        "ordinal": False,
    }
    assert parse_schema({"fields": [explicit]}) == parse_schema({"fields": [VERDICT]})


def test_the_schema_diff_shows_changed_choices_under_the_field_name():
    old = default_schema()
    new = parse_schema(
        DEFAULT_SCHEMA_YAML.replace("[easy, medium, hard]", "[easy, medium, hard, expert]"),
        sop_markdown=DEFAULT_SOP_MARKDOWN.replace("- tone:", "- verbosity: too long.\n- tone:"),
    )
    diff = schema_diff(old, new, "v1", "v2")
    assert diff.startswith("--- v1\n+++ v2\n@@ ")
    hunks = diff.split("\n@@ ")[1:]
    assert hunks[0].split("\n")[0].endswith("@@ - name: error_types")
    assert "\n+  - verbosity\n" in hunks[0]
    assert hunks[1].split("\n")[0].endswith("@@ - name: difficulty")
    assert "\n+  - expert\n" in hunks[1]


def test_the_schema_diff_shows_a_removed_field_and_nothing_for_equal_schemas():
    diff = schema_diff(default_schema(), parse_schema({"fields": [VERDICT]}))
    assert "\n-- name: error_types\n" in diff
    assert [line for line in diff.splitlines()[2:] if line.startswith("+")] == []
    assert "\n-  required: true\n" in diff
    assert schema_diff(default_schema(), default_schema()) == ""
