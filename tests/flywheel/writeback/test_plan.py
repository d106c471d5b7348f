"""What a trace needs against the ledger, and batches that stay bounded (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from flywheel.writeback import TraceRef, WritebackConfig, Written, batches, label_scores, plan_trace
from tests.flywheel.writeback.test_payloads import label

CONFIG = WritebackConfig()


def written(payloads) -> list[Written]:
    return [Written(p.score_id, p.name, p.sha256) for p in payloads]


def test_nothing_is_sent_when_the_ledger_holds_the_same_payloads() -> None:
    scores = label_scores(label(), CONFIG)
    plan = plan_trace(scores, written(scores))
    assert (plan.send, plan.unchanged, plan.retract) == ([], len(scores), [])


def test_new_and_changed_scores_are_sent_and_the_rest_skipped() -> None:
    before = label_scores(label(), CONFIG)
    after = label_scores(label(values={**label().values, "verdict": "good"}), CONFIG)
    plan = plan_trace(after, written(before))
    assert [p.name for p in plan.send] == ["flywheel.verdict"]
    assert plan.unchanged == len(after) - 1


def test_a_written_score_that_no_longer_applies_is_retracted() -> None:
    before = label_scores(label(), CONFIG)
    after = label_scores(
        label(values={"verdict": "bad", "error_types": ["wrong_policy"]}, correction=None), CONFIG
    )
    retracted = plan_trace(after, written(before)).retract
    assert sorted(r.name for r in retracted) == [
        "flywheel.error_type",
        "flywheel.must_refuse",
        "flywheel.sample_type",
        "output",
    ]


def test_held_rows_are_kept_and_counted_as_unchanged() -> None:
    before = label_scores(label(), CONFIG)
    plan = plan_trace([], written(before), hold=lambda row: row.name != "output")
    assert [r.name for r in plan.retract] == ["output"]
    assert plan.unchanged == len(before) - 1


def test_batches_respect_the_count_and_the_byte_budget() -> None:
    refs = [
        TraceRef(project="p", source="s", trace_id=f"t{i}", timestamp=datetime(2026, 1, 1, tzinfo=UTC))
        for i in range(30)
    ]
    payloads = [p for ref in refs for p in label_scores(label(trace=ref), CONFIG)]
    by_count = list(batches(payloads, size=7, max_bytes=10**9))
    assert [len(b) for b in by_count[:-1]] == [7] * (len(by_count) - 1)
    assert [p for b in by_count for p in b] == payloads
    budget = 3 * max(p.size for p in payloads)
    for batch in batches(payloads, size=1000, max_bytes=budget):
        assert sum(p.size for p in batch) <= budget
