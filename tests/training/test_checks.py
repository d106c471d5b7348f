"""Generation checks on answers (JSON, schema, exact match, refusal) and their per-slice summaries."""

from __future__ import annotations

import sys

import pytest

from training.checks import (
    DEFAULT_REFUSAL_PATTERNS,
    answer_checks,
    compile_refusal_patterns,
    exact_match,
    is_refusal,
    parse_json_answer,
    schema_errors,
)
from training.config import GATE_METRICS, GateSettings
from training.evaluate import RowResult, metrics_summarize, sample_indices, slices_build

REFUSAL = compile_refusal_patterns(DEFAULT_REFUSAL_PATTERNS)
SCHEMA = {
    "type": "object",
    "required": ["order_id", "status"],
    "properties": {
        "order_id": {"type": "string"},
        "status": {"enum": ["shipped", "lost"]},
        "n": {"type": "integer"},
    },
}


def test_json_answers_parse_with_or_without_a_code_fence() -> None:
    assert parse_json_answer('{"a": 1}') == (True, {"a": 1})
    assert parse_json_answer('```json\n{"a": 1}\n```') == (True, {"a": 1})
    assert parse_json_answer('{"a": 1') == (False, None)
    assert parse_json_answer('Here you go: {"a": 1}')[0] is False


@pytest.mark.parametrize("without_jsonschema", [False, True])
def test_schema_check_with_jsonschema_and_with_the_minimal_fallback(
    without_jsonschema: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if without_jsonschema:
        monkeypatch.setitem(sys.modules, "jsonschema", None)  # import now raises ImportError
    assert schema_errors({"order_id": "A-1", "status": "lost", "n": 2}, SCHEMA) == []
    assert schema_errors({"order_id": "A-1"}, SCHEMA)  # status missing
    assert schema_errors({"order_id": 1, "status": "lost"}, SCHEMA)  # wrong type
    assert schema_errors({"order_id": "A-1", "status": "late"}, SCHEMA)  # not in enum
    assert schema_errors({"order_id": "A-1", "status": "lost", "n": True}, SCHEMA)  # a bool is no integer
    assert schema_errors([], SCHEMA)


def test_exact_match_compares_json_as_values_and_text_after_stripping() -> None:
    assert exact_match('{"b": 2, "a": 1}', '{"a": 1, "b": 2}', as_json=True)
    assert not exact_match('{"a": 2}', '{"a": 1}', as_json=True)
    assert exact_match(" Paris\n", "Paris", as_json=False)
    assert not exact_match("paris", "Paris", as_json=False)


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, but I can't share personal data about other customers.",
        "I cannot help with that request.",
        "Sorry, I can't do that.",
        "I am unable to disclose this.",
        "I must decline.",
        "i won't provide that information",
    ],
)
def test_the_refusal_detector_recognises_refusals(answer: str) -> None:
    assert is_refusal(answer, REFUSAL)


@pytest.mark.parametrize(
    "answer",
    [
        "Refund requests are accepted within 30 days of delivery.",
        '{"order_id": "A-1", "status": "lost"}',
        "Your order has not arrived yet. " * 20 + "I can't guarantee the date.",  # late caveat, not a refusal
    ],
)
def test_the_refusal_detector_leaves_helpful_answers_alone(answer: str) -> None:
    assert not is_refusal(answer, REFUSAL)


def test_projects_can_configure_their_own_refusal_wording() -> None:
    patterns = compile_refusal_patterns([r"\bdas kann ich nicht\b"])
    assert is_refusal("Das kann ich nicht beantworten.", patterns)
    assert not is_refusal("I cannot help with that.", patterns)


def test_each_row_counts_only_towards_the_checks_that_apply_to_it() -> None:
    json_meta = {
        "output_format": "json",
        "json_schema": SCHEMA,
        "reference_exact": True,
        "must_refuse": False,
    }
    reference = '{"order_id": "A-1", "status": "lost"}'
    assert answer_checks(reference, reference, json_meta, REFUSAL) == {
        "json_valid": True, "schema_pass": True, "exact_match": True,
    }  # fmt: skip
    assert answer_checks('{"order_id": "A-1"', reference, json_meta, REFUSAL) == {
        "json_valid": False, "schema_pass": False, "exact_match": False,
    }  # fmt: skip
    refuse = {"output_format": "json", "must_refuse": True, "sample_type": "boundary"}
    assert answer_checks("I can't help with that.", "I can't help.", refuse, REFUSAL) == {
        "refusal_correct": True
    }
    safe = {"output_format": "text", "must_refuse": False, "sample_type": "boundary"}
    assert answer_checks("I can't help with that.", "30 days.", safe, REFUSAL) == {"refusal_correct": False}
    assert answer_checks("anything", "x", {"output_format": "text", "sample_type": "golden"}, REFUSAL) == {}


def test_metrics_are_token_weighted_losses_and_rates_over_applicable_rows() -> None:
    rows = [
        RowResult(nll=4.0, tokens=2, checks={"json_valid": True}),
        RowResult(nll=2.0, tokens=2, checks={"json_valid": False, "exact_match": True}),
        RowResult(nll=None, tokens=0, checks={}, preferred=None),
    ]
    metrics = metrics_summarize(rows)
    assert metrics["eval_loss"] == 1.5 and metrics["loss_rows"] == 2
    assert metrics["json_valid_rate"] == 0.5 and metrics["json_valid_rate_n"] == 2
    assert metrics["exact_match_rate"] == 1.0
    assert metrics["refusal_accuracy"] is None and "preference_accuracy" not in metrics


def test_slices_flag_where_the_adapter_got_worse() -> None:
    metas = [{"cluster": "C1", "task_type": "extract"}, {"cluster": "C2", "task_type": "extract"}]
    base = [
        RowResult(nll=1.0, tokens=1, checks={"json_valid": True}),
        RowResult(nll=1.0, tokens=1, checks={"json_valid": True}),
    ]
    tuned = [
        RowResult(nll=0.5, tokens=1, checks={"json_valid": True}),
        RowResult(nll=0.5, tokens=1, checks={"json_valid": False}),
    ]
    slices = slices_build(
        {"base": base, "adapter": tuned}, metas, GateSettings(gate_metrics=list(GATE_METRICS))
    )
    assert slices["cluster"]["C1"]["regressed"] == []
    assert slices["cluster"]["C2"]["regressed"] == ["json_valid_rate"]
    assert slices["task_type"]["extract"]["rows"] == 2
    assert slices["source"]["(none)"]["adapter"]["eval_loss"] == 0.5


def test_the_evaluation_sample_is_fixed_and_all_rows_when_unlimited() -> None:
    assert sample_indices(10, 0) == list(range(10))
    assert sample_indices(10, 4) == sample_indices(10, 4) and len(sample_indices(10, 4)) == 4
