"""ScoreWriter: the SDK 5 client sending scores over real HTTP to the Langfuse stand-in.

"A real adapter test beside every fake": there is no real Langfuse on this machine, so the
real-adapter test of the write-back is this one: the official SDK (``langfuse==5.0.4``,
``LangfuseAPI.scores``) talking HTTP to ``flywheel.standin``, which follows the spec's
``CreateScoreRequest`` rules and answers like the server (202/207 for arrays, 200 ``{id}``
for one object, 400 for arrays on a server without batches, 429 with ``Retry-After``,
500/524, dropped connections). No database here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from flywheel.errors import SourceAuthError, SourceProtocolError, SourceRateLimited, SourceUnreachable
from flywheel.ingest.langfuse_api import LangfuseApiConfig
from flywheel.standin import LangfuseStandin
from flywheel.writeback import ScorePayload, ScoreWriter, TraceRef, WritebackConfig, label_scores
from flywheel.writeback.payloads import canonical_json, payload_sha256
from tests.flywheel.writeback.test_payloads import label

REFS = [
    TraceRef(project="p", source="s", trace_id=f"t{i}", timestamp=datetime(2026, 11, 2, tzinfo=UTC))
    for i in range(4)
]


@pytest.fixture
def lf() -> Iterator[LangfuseStandin]:
    with LangfuseStandin(mode="new") as standin:
        yield standin


def config(lf: LangfuseStandin, **changes) -> LangfuseApiConfig:
    base = LangfuseApiConfig(
        base_url=lf.base_url,
        public_key=lf.public_key,
        secret_key=lf.secret_key,
        timeout=5,
        max_attempts=4,
        backoff_base=0.01,
        secret_key_env="SHOP_LANGFUSE_SECRET",
    )
    return dataclasses.replace(base, **changes)


def payloads() -> list[ScorePayload]:
    return [p for ref in REFS for p in label_scores(label(trace=ref), WritebackConfig())]


def broken(payload: ScorePayload) -> ScorePayload:
    """A BOOLEAN score with the value 2, which the API refuses."""
    body = dict(payload.body) | {"dataType": "BOOLEAN", "value": 2}
    return dataclasses.replace(
        payload, body=body, sha256=payload_sha256(body), size=len(canonical_json(body))
    )


def posts(lf: LangfuseStandin) -> int:
    return sum(1 for r in lf.requests if r.method == "POST" and r.path == "/api/public/scores")


def test_one_batch_request_carries_the_scores_and_every_one_is_accepted(lf: LangfuseStandin) -> None:
    batch = payloads()
    with ScoreWriter(config(lf)) as writer:
        outcome = writer.send(batch)
    assert outcome.accepted == [p.score_id for p in batch] and outcome.refused == []
    assert posts(lf) == 1
    assert sorted(s.id for s in lf.written_scores) == sorted(p.score_id for p in batch)


def test_a_207_is_resolved_row_by_row_into_accepted_and_refused_with_the_servers_reason(
    lf: LangfuseStandin,
) -> None:
    batch = payloads()[:5]
    bad = broken(batch[2])
    with ScoreWriter(config(lf)) as writer:
        outcome = writer.send([*batch[:2], bad, *batch[3:]])
    assert sorted(outcome.accepted) == sorted(p.score_id for p in batch if p is not batch[2])
    assert [r.score_id for r in outcome.refused] == [bad.score_id]
    assert "0 or 1" in outcome.refused[0].reason
    assert posts(lf) == 1 + 5  # the batch, then each row alone


def test_a_server_that_takes_one_object_per_request_gets_single_objects_from_then_on() -> None:
    with LangfuseStandin(mode="old", score_batches=False) as lf, ScoreWriter(config(lf)) as writer:
        first = writer.send(payloads()[:3])
        assert writer.batches is False
        second = writer.send(payloads()[3:6])
        assert len(first.accepted) == len(second.accepted) == 3
        arrays = [r for r in lf.requests if r.method == "POST" and isinstance(r.json(), list)]
        assert len(arrays) == 1  # only the first try
        assert len(lf.written_scores) == 6


def test_a_refused_single_object_names_the_reason_without_echoing_the_value() -> None:
    with LangfuseStandin(score_batches=False) as lf, ScoreWriter(config(lf)) as writer:
        good = payloads()[0]
        body = dict(good.body) | {"dataType": "TEXT", "value": "x" * 600}
        long_text = dataclasses.replace(good, body=body)
        outcome = writer.send([long_text])
    assert outcome.accepted == [] and "500 characters" in outcome.refused[0].reason
    assert "x" * 20 not in outcome.refused[0].reason


def test_a_429_is_waited_out_for_as_long_as_retry_after_says(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/scores", "rate_limit", count=2, retry_after=7)
    slept: list[float] = []
    with ScoreWriter(config(lf), sleep=slept.append) as writer:
        outcome = writer.send(payloads()[:4])
    assert slept == [7, 7]
    assert len(outcome.accepted) == 4 and writer.requests == 3


def test_server_errors_gateway_timeouts_resets_and_garbage_are_retried(lf: LangfuseStandin) -> None:
    for kind in ("server_error", "gateway_timeout", "reset", "garbage"):
        lf.faults.push("/api/public/scores", kind)
    slept: list[float] = []
    with ScoreWriter(config(lf, max_attempts=6), sleep=slept.append) as writer:
        outcome = writer.send(payloads()[:4])
    assert len(outcome.accepted) == 4 and len(slept) == 4
    assert len(lf.written_scores) == 4


def test_a_timeout_is_retried_since_the_write_is_an_upsert(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/scores", "delay", seconds=2)
    with ScoreWriter(config(lf, timeout=0.5), sleep=lambda s: None) as writer:
        outcome = writer.send(payloads()[:3])
    assert len(outcome.accepted) == 3 and writer.requests == 2
    assert len(lf.written_scores) == 3


def test_a_rate_limit_that_never_lifts_stops_the_run_as_temporary(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/scores", "rate_limit", count=100, retry_after=1)
    with ScoreWriter(config(lf), sleep=lambda s: None) as writer, pytest.raises(SourceRateLimited) as caught:
        writer.send(payloads()[:1])
    assert caught.value.exit_code == 75 and "HTTP 429" in caught.value.message


def test_an_outage_gives_up_after_the_last_attempt_with_what_to_do(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/", "server_error", count=100)
    with ScoreWriter(config(lf), sleep=lambda s: None) as writer, pytest.raises(SourceUnreachable) as caught:
        writer.send(payloads()[:2])
    assert "HTTP 500" in caught.value.message and "4 attempts" in caught.value.message
    assert "run the write-back again" in caught.value.hint
    assert lf.written_scores == []


def test_a_host_that_refuses_connections_is_unreachable() -> None:
    dead = LangfuseApiConfig(
        base_url="http://127.0.0.1:1", public_key="pk-lf-x", secret_key="sk-lf-x", max_attempts=2
    )
    with ScoreWriter(dead, sleep=lambda s: None) as writer, pytest.raises(SourceUnreachable) as caught:
        writer.send(payloads()[:1])
    assert "connection refused" in caught.value.message


def test_wrong_keys_stop_at_once_naming_the_env_var_of_the_secret(lf: LangfuseStandin) -> None:
    writer = ScoreWriter(config(lf, secret_key="sk-lf-wrong"), target="shop-langfuse")
    with writer, pytest.raises(SourceAuthError) as caught:
        writer.send(payloads()[:1])
    assert writer.requests == 1
    assert "HTTP 401" in caught.value.message and "shop-langfuse" in caught.value.message
    assert "SHOP_LANGFUSE_SECRET" in caught.value.hint
    assert "sk-lf-wrong" not in str(caught.value)


def test_a_base_url_without_the_scores_endpoint_is_a_protocol_error(lf: LangfuseStandin) -> None:
    writer = ScoreWriter(config(lf, base_url=f"{lf.base_url}/api/public"))
    with writer, pytest.raises(SourceProtocolError, match="does not serve"):
        writer.send(payloads()[:1])


def test_delete_removes_a_score_and_a_missing_one_counts_as_gone(lf: LangfuseStandin) -> None:
    batch = payloads()[:2]
    with ScoreWriter(config(lf)) as writer:
        writer.send(batch)
        writer.delete(batch[0].score_id)
        writer.delete(batch[0].score_id)  # already gone: no error
    assert [s.id for s in lf.written_scores] == [batch[1].score_id]
