"""The promotion gate, on constructed metrics: no model needed."""

from __future__ import annotations

import pytest

from training.config import GATE_METRICS, GateSettings
from training.gate import FAIL, PASS, SKIPPED, gate_decide, metric_check

SETTINGS = GateSettings(gate_metrics=list(GATE_METRICS), gate_tolerance=0.02, gate_loss_tolerance=0.05)
BASE = {
    "eval_loss": 2.0,
    "json_valid_rate": 0.80,
    "schema_pass_rate": 0.70,
    "exact_match_rate": 0.5,
    "refusal_accuracy": 0.9,
}


def adapter(**changes: float | None) -> dict:
    return {**BASE, **changes}


def test_an_adapter_that_improves_everything_is_promoted() -> None:
    verdict = gate_decide(adapter=adapter(eval_loss=1.5, json_valid_rate=0.95), base=BASE, settings=SETTINGS)
    assert verdict.promoted
    assert verdict.reasons[0] == "all 5 gated checks within tolerance against base"
    assert "skipped (no rows to judge): preference_accuracy" in verdict.reasons


def test_a_rate_that_drops_beyond_tolerance_blocks_promotion_and_says_why() -> None:
    verdict = gate_decide(adapter=adapter(eval_loss=1.5, refusal_accuracy=0.8), base=BASE, settings=SETTINGS)
    assert not verdict.promoted
    assert verdict.reasons[0] == "refusal_accuracy fell from 0.9 (base) to 0.8 (change -0.1, allowed -0.02)"
    assert [c.metric for c in verdict.checks if c.status == FAIL] == ["refusal_accuracy"]


def test_a_drop_within_tolerance_passes() -> None:
    assert gate_decide(adapter=adapter(json_valid_rate=0.785), base=BASE, settings=SETTINGS).promoted


@pytest.mark.parametrize(("loss", "promoted"), [(2.09, True), (2.11, False)])
def test_eval_loss_may_rise_by_the_relative_tolerance_only(loss: float, promoted: bool) -> None:
    assert gate_decide(adapter=adapter(eval_loss=loss), base=BASE, settings=SETTINGS).promoted is promoted


def test_a_metric_without_rows_is_skipped_not_failed() -> None:
    verdict = gate_decide(adapter=adapter(schema_pass_rate=None), base=BASE, settings=SETTINGS)
    assert verdict.promoted
    assert next(c for c in verdict.checks if c.metric == "schema_pass_rate").status == SKIPPED


def test_nothing_measured_means_nothing_promoted() -> None:
    verdict = gate_decide(adapter={}, base={}, settings=SETTINGS)
    assert not verdict.promoted
    assert "nothing shows the adapter is safe" in verdict.reasons[0]


def test_an_adapter_better_than_base_but_worse_than_the_promoted_one_is_refused() -> None:
    baseline = adapter(exact_match_rate=0.9)
    verdict = gate_decide(
        adapter=adapter(exact_match_rate=0.7), base=BASE, baseline=baseline, settings=SETTINGS
    )
    assert not verdict.promoted
    assert verdict.reasons == [
        "exact_match_rate fell from 0.9 (baseline) to 0.7 (change -0.2, allowed -0.02)",
        "skipped (no rows to judge): preference_accuracy",
    ]
    against = {(c.metric, c.against): c.status for c in verdict.checks}
    assert against[("exact_match_rate", "base")] == PASS
    assert against[("exact_match_rate", "baseline")] == FAIL


def test_only_the_configured_metrics_are_gated() -> None:
    settings = GateSettings(gate_metrics=["eval_loss"], gate_tolerance=0.02, gate_loss_tolerance=0.05)
    verdict = gate_decide(adapter=adapter(json_valid_rate=0.0), base=BASE, settings=settings)
    assert verdict.promoted and [c.metric for c in verdict.checks] == ["eval_loss"]


def test_the_gate_result_serialises_for_metrics_json() -> None:
    as_dict = gate_decide(adapter=adapter(), base=BASE, settings=SETTINGS).to_dict()
    assert set(as_dict) == {"checks", "reasons"}
    assert as_dict["checks"][0] == {
        "metric": "eval_loss", "against": "base", "reference": 2.0, "candidate": 2.0,
        "delta": 0.0, "allowed": pytest.approx(0.1), "status": "pass",
    }  # fmt: skip


def test_metric_check_knows_which_direction_is_worse() -> None:
    assert metric_check("eval_loss", 1.0, 0.5, SETTINGS).status == PASS
    assert metric_check("json_valid_rate", 0.5, 1.0, SETTINGS).status == PASS
    assert metric_check("json_valid_rate", 1.0, 0.5, SETTINGS).status == FAIL
