"""The write-back core turns plain label records into CreateScoreRequest bodies (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from flywheel.errors import ConfigError
from flywheel.writeback import (
    CORRECTION_NAME,
    ClusterRecord,
    LabelRecord,
    TraceRef,
    WritebackConfig,
    cluster_score,
    label_scores,
    score_id,
)
from flywheel.writeback.payloads import truncate
from tests.flywheel.standin.openapi_schemas import SPEC_PATH, validate

CONFIG = WritebackConfig()
TRACE = TraceRef(
    project="shop",
    source="shop-langfuse",
    trace_id="t-1",
    timestamp=datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC),
    environment="production",
)


def label(**changes: Any) -> LabelRecord:
    record = LabelRecord(
        trace=TRACE,
        values={
            "verdict": "bad",
            "error_types": ["wrong_policy", "missing_step", "wrong_policy"],
            "must_refuse": False,
            "sample_type": "negative",
            "task_type": "qa",
            "notes": "free text the reviewer wrote",
        },
        item_key="shop-langfuse:t-1",
        sop_version=3,
        decision="fixed",
        reviewer="lead",
        annotators=("ann1", "ann2"),
        decided_at=datetime(2026, 11, 3, tzinfo=UTC),
        observation_id="gen-1",
        cluster="C12",
        correction="Refunds take 5-7 business days.",
    )
    return dataclasses.replace(record, **changes)


def by_name(record: LabelRecord, config: WritebackConfig = CONFIG) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for payload in label_scores(record, config):
        out.setdefault(payload.name, []).append(dict(payload.body))
    return out


def test_a_final_label_becomes_verdict_type_refusal_one_score_per_error_type_and_a_correction() -> None:
    scores = by_name(label())
    assert sorted(scores) == [
        "flywheel.error_type",
        "flywheel.must_refuse",
        "flywheel.sample_type",
        "flywheel.verdict",
        CORRECTION_NAME,
    ]
    assert [s["value"] for s in scores["flywheel.error_type"]] == ["missing_step", "wrong_policy"]
    assert (scores["flywheel.verdict"][0]["value"], scores["flywheel.verdict"][0]["dataType"]) == (
        "bad",
        "CATEGORICAL",
    )
    assert (scores["flywheel.must_refuse"][0]["value"], scores["flywheel.must_refuse"][0]["dataType"]) == (
        0,
        "BOOLEAN",
    )
    correction = scores[CORRECTION_NAME][0]
    assert correction["dataType"] == "CORRECTION"
    assert correction["value"] == "Refunds take 5-7 business days."


def test_the_correction_sits_on_the_labeled_generation_and_the_rest_on_the_trace() -> None:
    for name, bodies in by_name(label()).items():
        for body in bodies:
            assert body["traceId"] == "t-1"
            assert body.get("observationId") == ("gen-1" if name == CORRECTION_NAME else None)


def test_every_score_names_the_sop_version_and_the_reviewer_and_carries_lineage_without_free_text() -> None:
    for bodies in by_name(label()).values():
        body = bodies[0]
        assert body["comment"] == "Flywheel label · SOP v3 · reviewer lead (fixed)"
        meta = body["metadata"]
        assert meta["item_key"] == "shop-langfuse:t-1" and meta["sop_version"] == 3
        assert meta["reviewer"] == "lead" and meta["annotators"] == ["ann1", "ann2"]
        assert meta["observation_id"] == "gen-1" and meta["cluster"] == "C12"
        assert "notes" not in meta and "free text" not in str(body)


def test_a_consensus_label_names_its_annotators_instead_of_a_reviewer() -> None:
    body = by_name(label(reviewer=None, decision="consensus"))["flywheel.verdict"][0]
    assert body["comment"] == "Flywheel label · SOP v3 · consensus of ann1, ann2"


def test_ids_are_the_same_for_the_same_label_and_stay_put_when_the_label_changes() -> None:
    first = {p.name + str(p.body["value"]): p.score_id for p in label_scores(label(), CONFIG)}
    again = {p.name + str(p.body["value"]): p.score_id for p in label_scores(label(), CONFIG)}
    assert first == again
    changed = label_scores(label(values={"verdict": "good", "sample_type": "golden"}), CONFIG)
    verdict = next(p for p in changed if p.name == "flywheel.verdict")
    assert verdict.score_id == first["flywheel.verdictbad"]
    assert verdict.sha256 != next(p for p in label_scores(label(), CONFIG) if p.name == verdict.name).sha256


def test_per_value_scores_carry_the_value_in_their_id() -> None:
    ids = {
        p.body["value"]: p.score_id for p in label_scores(label(), CONFIG) if p.name.endswith("error_type")
    }
    assert ids["wrong_policy"] != ids["missing_step"]
    assert ids["wrong_policy"] == score_id(TRACE, "flywheel.error_type", "wrong_policy")


def test_ids_differ_between_projects_sources_and_traces() -> None:
    ids = {
        score_id(ref, "flywheel.verdict")
        for ref in (
            TRACE,
            dataclasses.replace(TRACE, project="other"),
            dataclasses.replace(TRACE, source="other"),
            dataclasses.replace(TRACE, trace_id="t-2"),
        )
    }
    assert len(ids) == 4


def test_the_timestamp_is_the_traces_to_the_millisecond_whatever_the_label() -> None:
    stamps = {p.body["timestamp"] for p in label_scores(label(), CONFIG)}
    stamps |= {p.body["timestamp"] for p in label_scores(label(decided_at=datetime.now(UTC)), CONFIG)}
    assert stamps == {"2026-11-02T09:30:15.123Z"}


def test_a_configured_prefix_renames_every_score_but_the_correction() -> None:
    names = set(by_name(label(), WritebackConfig(prefix="acme/")))
    assert names == {"acme/verdict", "acme/sample_type", "acme/must_refuse", "acme/error_type", "output"}


def test_a_prefix_with_spaces_or_too_long_is_refused_with_a_hint() -> None:
    for prefix in ("my prefix", "x" * 41):
        with pytest.raises(ConfigError, match="prefix"):
            WritebackConfig(prefix=prefix)


def test_fields_the_label_lacks_give_no_score() -> None:
    scores = by_name(label(values={"verdict": "good"}, correction=None))
    assert sorted(scores) == ["flywheel.verdict"]


def test_a_correction_longer_than_the_limit_is_cut_with_a_marker_and_says_so_everywhere() -> None:
    config = WritebackConfig(correction_max_chars=1_000)
    long = "word " * 600  # 3,000 characters
    body = by_name(label(correction=long), config)[CORRECTION_NAME][0]
    assert len(body["value"]) <= 1_000
    assert body["value"].startswith("word word")
    assert "of 3000 characters" in body["value"] and "shop-langfuse:t-1" in body["value"]
    assert body["metadata"]["correction_truncated"] is True and body["metadata"]["correction_chars"] == 3000
    assert body["comment"].endswith("corrected answer truncated")


def test_truncation_leaves_short_text_alone() -> None:
    assert truncate("short", 1_000, "k") == ("short", False)


def test_an_environment_langfuse_would_refuse_is_left_to_the_server_default() -> None:
    record = label(trace=dataclasses.replace(TRACE, environment="Langfuse Prod"))
    assert all("environment" not in p.body for p in label_scores(record, CONFIG))
    assert all(p.body["environment"] == "production" for p in label_scores(label(), CONFIG))


def test_a_clustered_failure_gets_its_cluster_as_a_categorical_score_on_the_trace() -> None:
    record = ClusterRecord(trace=TRACE, number=12, label="refund · broken", rules=("thumbs-down",))
    payload = cluster_score(dataclasses.replace(record, assigned_by="incremental"), CONFIG)
    assert payload.name == "flywheel.cluster"
    assert payload.body["value"] == "C12 refund · broken" and payload.body["dataType"] == "CATEGORICAL"
    assert "observationId" not in payload.body
    assert payload.body["metadata"]["rules"] == ["thumbs-down"]
    renamed = cluster_score(dataclasses.replace(record, label="refund · late"), CONFIG)
    assert renamed.score_id == payload.score_id and renamed.sha256 != payload.sha256


@pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"openapi.yml not found at {SPEC_PATH}")
def test_every_body_matches_the_specs_create_score_request() -> None:
    record = label(correction="x" * 3_000)
    bodies = [p.body for p in label_scores(record, WritebackConfig(correction_max_chars=1_000))]
    bodies.append(cluster_score(ClusterRecord(trace=TRACE, number=1, label="a"), CONFIG).body)
    for body in bodies:
        validate(dict(body), "CreateScoreRequest")
        if body["dataType"] == "BOOLEAN":
            assert body["value"] in (0, 1)
        if body["dataType"] in ("CATEGORICAL", "CORRECTION"):
            assert isinstance(body["value"], str) and body["value"]
    with pytest.raises(jsonschema.ValidationError):  # the check is not vacuous
        validate({"name": "n"}, "CreateScoreRequest")
