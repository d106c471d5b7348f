"""The step runner: order, records, failures that do not stop independent steps, resume."""

from __future__ import annotations

import pytest

from flywheel.nightly import Step, StepError, StepOutcome, failed_steps, reset_unfinished, run_steps


def recorder():
    saved = []
    return saved, lambda record: saved.append({k: dict(v) for k, v in record.items()})


def test_every_step_runs_in_order_and_is_recorded_as_it_starts_and_ends():
    calls = []
    steps = [
        Step("a", lambda: calls.append("a") or StepOutcome("did a", {"n": 1})),
        Step("b", lambda: calls.append("b") or StepOutcome("nothing for b", skipped=True)),
    ]
    saved, save = recorder()
    record: dict = {}
    assert run_steps(steps, record, save=save) == 0
    assert calls == ["a", "b"]
    assert record["a"]["status"] == "succeeded" and record["a"]["counts"] == {"n": 1}
    assert record["b"]["status"] == "skipped" and record["b"]["message"] == "nothing for b"
    assert saved[0]["a"]["status"] == "running"  # saved before the step ran: a crash leaves "running"
    assert record["a"]["started_at"] and record["a"]["finished_at"] and record["a"]["attempts"] == 1


def test_a_failed_step_stops_only_the_steps_that_need_it():
    def broken():
        raise StepError("source 'lf' unreachable", counts={"read": 3}, exit_code=69)

    steps = [
        Step("sync", broken),
        Step("cluster", lambda: StepOutcome("clustered")),
        Step("train", lambda: StepOutcome("trained"), needs=("sync",)),
    ]
    record: dict = {}
    assert run_steps(steps, record, save=lambda r: None) == 69
    assert record["sync"]["status"] == "failed" and record["sync"]["error"] == "source 'lf' unreachable"
    assert record["sync"]["counts"] == {"read": 3}
    assert record["cluster"]["status"] == "succeeded"
    assert record["train"]["status"] == "failed" and "sync" in record["train"]["message"]
    assert failed_steps(record) == ["sync", "train"]


def test_an_unexpected_error_is_recorded_by_its_type_only():
    def leaky():
        raise ValueError("alice@example.com is not valid")

    record: dict = {}
    assert run_steps([Step("x", leaky)], record, save=lambda r: None) == 70
    assert "ValueError" in record["x"]["error"]
    assert "alice" not in str(record)


def test_with_traceback_the_unexpected_error_propagates_after_being_recorded():
    def boom():
        raise RuntimeError("boom")

    record: dict = {}
    with pytest.raises(RuntimeError):
        run_steps([Step("x", boom)], record, save=lambda r: None, traceback=True)
    assert record["x"]["status"] == "failed"


def test_a_resumed_record_skips_what_is_done_and_reruns_the_interrupted_step():
    record = {
        "a": {"status": "succeeded", "counts": {"n": 1}, "attempts": 1},
        "b": {"status": "running", "counts": {}, "attempts": 1},  # the process died in b
        "c": {"status": "pending", "counts": {}, "attempts": 0},
    }
    assert reset_unfinished(record) == ["b", "c"]
    calls = []
    steps = [Step(n, lambda n=n: calls.append(n) or StepOutcome(n)) for n in "abc"]
    assert run_steps(steps, record, save=lambda r: None) == 0
    assert calls == ["b", "c"]
    assert record["a"]["counts"] == {"n": 1}
    assert record["b"]["attempts"] == 2
