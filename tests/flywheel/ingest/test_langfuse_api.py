"""The Langfuse API source reads the stand-in through the official SDK over real HTTP."""

from __future__ import annotations

import json
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.errors import (
    ConfigError,
    SourceAuthError,
    SourceProtocolError,
    SourceRateLimited,
    SourceUnreachable,
)
from flywheel.ingest.langfuse_api import LangfuseApiConfig, LangfuseApiSource
from flywheel.ingest.records import ObservationRecord, Rejected, ScoreRecord, SourceItem, TraceRecord
from flywheel.standin import LangfuseStandin
from flywheel.standin.synthetic import chat_bundle

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "langfuse" / "samples"
V2 = "/api/public/v2/observations"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
END = T0 + timedelta(hours=1)
EVER = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


class Sleeps(list[float]):
    """The injected sleep: records how long the source wanted to wait, and returns."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sample(name: str) -> dict[str, Any]:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"Langfuse sample {path} is not available")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def lf() -> Iterator[LangfuseStandin]:
    with LangfuseStandin(mode="new") as standin:
        yield standin


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_source(sleeps: Sleeps) -> Iterator[Callable[..., LangfuseApiSource]]:
    opened: list[LangfuseApiSource] = []

    def make(standin: LangfuseStandin, **config: Any) -> LangfuseApiSource:
        settings: dict[str, Any] = {
            "base_url": standin.base_url,
            "public_key": standin.public_key,
            "secret_key": standin.secret_key,
            "timeout": 2.0,
        }
        source = LangfuseApiSource(
            LangfuseApiConfig(**(settings | config)), sleep=sleeps, rng=random.Random(7)
        )
        opened.append(source)
        return source

    yield make
    for source in opened:
        source.close()


def read(source: LangfuseApiSource, window: tuple[datetime, datetime] = EVER) -> list[SourceItem]:
    return [item for page in source.read_window(*window) for item in page.items]


def of_type(items: list[SourceItem], kind: type) -> list[Any]:
    return [item for item in items if isinstance(item, kind)]


# -- reading ----------------------------------------------------------------------------
def test_sample_bundles_round_trip_from_the_standin_through_the_sdk_into_records(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    lf.add_trace_bundle(sample("autogen-2025-06-06.trace.json"))
    lf.add_trace_bundle(sample("langgraph-python-2025-08-22.trace.json"))
    items = read(make_source(lf))

    assert of_type(items, Rejected) == []
    traces = {t.id: t for t in of_type(items, TraceRecord)}
    autogen = traces["1b72c51fabed12ae7df83bfd4a09f545"]
    assert (autogen.name, autogen.user_id, autogen.session_id) == (
        "autogen-chat-trace",
        "user_123",
        "session_abc",
    )
    assert (
        autogen.tags == ("autogen", "dev") and autogen.version == "1.0.0" and autogen.environment == "default"
    )
    assert (autogen.input, autogen.output) == ("Say 'Hello World!'", "Hello World!")

    observations = {o.id: o for o in of_type(items, ObservationRecord)}
    assert len(observations) == 11
    generation = observations["83517f9062f5ada4"]
    assert generation.type == "GENERATION" and generation.model == "gpt-4o"
    assert generation.parent_id == "95f4f51edeb603d9"
    assert generation.usage == {"input": 41.0, "output": 3.0, "total": 44.0}
    assert generation.total_cost == pytest.approx(2.5e-05)
    assert generation.latency_ms == pytest.approx(628.0)
    assert generation.input.startswith("system: You are a helpful AI assistant")  # not JSON: kept as text
    conversation = observations["4f6535aaebcda355"].input
    assert conversation[0] == {"role": "user", "content": "Be helpful!"}
    assert all("role" in message for message in conversation)

    scores = {s.name: s for s in of_type(items, ScoreRecord)}
    assert scores["hallucination"].value == pytest.approx(0.1)
    assert scores["toxicity"].trace_id == "e1fde3efec57ce8a69bafd3fb928a7eb"
    assert scores["toxicity"].source == "EVAL"


def test_an_old_server_is_read_through_the_legacy_endpoints_with_the_same_records(
    make_source: Callable[..., LangfuseApiSource],
) -> None:
    results: dict[str, list[SourceItem]] = {}
    for mode in ("new", "old"):
        with LangfuseStandin(mode=mode) as standin:
            standin.add_trace_bundle(sample("langgraph-python-2025-08-22.trace.json"))
            standin.add_trace_bundle(chat_bundle("synthetic", T0, tools=1))
            source = make_source(standin)
            results[mode] = read(source)
            read(source)  # a second window must not probe v2 again
            if mode == "old":
                assert source.check() == "legacy"
                assert standin.count(V2) == 2  # the first read probed once, check() once more
                listing = [r for r in standin.requests if r.path == "/api/public/traces"]
                assert all(int(r.query["limit"][0]) <= 100 for r in listing)
                assert {r.query["orderBy"][0] for r in listing} == {"timestamp.asc"}
                assert all("fromTimestamp" in r.query and "toTimestamp" in r.query for r in listing)

    def ids(items: list[SourceItem], kind: type) -> set[str]:
        return {item.id for item in of_type(items, kind)}

    for kind in (TraceRecord, ObservationRecord, ScoreRecord):
        assert ids(results["old"], kind) == ids(results["new"], kind)
    legacy_generation = next(o for o in of_type(results["old"], ObservationRecord) if o.id == "synthetic-gen")
    v2_generation = next(o for o in of_type(results["new"], ObservationRecord) if o.id == "synthetic-gen")
    assert legacy_generation.input == v2_generation.input
    assert legacy_generation.input[1] == {"role": "user", "content": "How do I reset my password?"}


def test_the_api_family_is_probed_once_and_remembered(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    lf.mode = "old"
    source = make_source(lf)
    read(source)
    read(source)
    assert lf.count(V2) == 1


@pytest.mark.parametrize(("mode", "family"), [("new", "v2"), ("both", "v2"), ("old", "legacy")])
def test_check_reports_which_api_family_the_server_speaks(
    make_source: Callable[..., LangfuseApiSource], mode: str, family: str
) -> None:
    with LangfuseStandin(mode=mode) as standin:
        assert make_source(standin).check() == family


def test_cursor_paging_reads_every_observation_exactly_once(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    for n in range(10):
        lf.add_trace_bundle(chat_bundle(f"t{n}", T0 + timedelta(minutes=n), tools=1))
    pages = list(make_source(lf, page_limit=4).read_window(T0, END))
    observation_pages = [p for p in pages if p.label.startswith("v2/observations")]
    assert [p.label for p in observation_pages][-1] == "v2/observations page 8"
    assert all(len(of_type(p.items, ObservationRecord)) <= 4 for p in pages)
    observations = [o.id for p in pages for o in of_type(p.items, ObservationRecord)]
    assert len(observations) == 30 == len(set(observations))
    assert sorted(t.id for p in pages for t in of_type(p.items, TraceRecord)) == [f"t{n}" for n in range(10)]
    assert lf.count(V2) == 1 + 8  # the family probe, then one request per page


def test_the_window_includes_its_start_and_excludes_its_end(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    lf.add_trace_bundle(chat_bundle("before", T0 - timedelta(seconds=1)))
    lf.add_trace_bundle(chat_bundle("inside", T0))
    lf.add_trace_bundle(chat_bundle("at-end", END))
    lf.add_score(name="at-start", value=1, trace_id="inside", timestamp=T0)
    lf.add_score(name="last-ms", value=1, trace_id="inside", timestamp=END - timedelta(milliseconds=1))
    lf.add_score(name="at-end", value=1, trace_id="inside", timestamp=END)
    items = read(make_source(lf), (T0, END))
    assert [t.id for t in of_type(items, TraceRecord)] == ["inside"]
    assert {o.trace_id for o in of_type(items, ObservationRecord)} == {"inside"}
    assert {s.name for s in of_type(items, ScoreRecord)} == {"at-start", "last-ms"}


@pytest.mark.parametrize("mode", ["new", "old"])
def test_environment_and_tag_filters_narrow_what_is_read(
    make_source: Callable[..., LangfuseApiSource], mode: str
) -> None:
    with LangfuseStandin(mode=mode) as standin:
        standin.add_trace_bundle(chat_bundle("wanted", T0, environment="prod", tags=["vip", "web"]))
        standin.add_trace_bundle(chat_bundle("untagged", T0, environment="prod"))
        standin.add_trace_bundle(chat_bundle("elsewhere", T0, environment="dev", tags=["vip"]))
        items = read(make_source(standin, environments=("prod",), tags=("vip",)))
    assert [t.id for t in of_type(items, TraceRecord)] == ["wanted"]
    assert {o.trace_id for o in of_type(items, ObservationRecord)} == {"wanted"}


def test_string_metadata_from_the_server_is_parsed_too(make_source: Callable[..., LangfuseApiSource]) -> None:
    # API_NOTES says v2 metadata is raw text; SDK 5's model wants an object. Either works.
    with LangfuseStandin(mode="new", metadata_as_string=True) as standin:
        standin.add_trace_bundle(chat_bundle("t1", T0))
        items = read(make_source(standin))
    assert of_type(items, Rejected) == []
    generation = next(o for o in of_type(items, ObservationRecord) if o.type == "GENERATION")
    assert generation.metadata == {"sdk": "synthetic"}
    assert of_type(items, TraceRecord)[0].metadata == {"sdk": "synthetic"}


def test_a_malformed_row_becomes_a_rejected_naming_the_field_but_not_its_value(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    for n in range(3):
        lf.add_trace_bundle(chat_bundle(f"t{n}", T0 + timedelta(minutes=n)))

    def spoil(payload: dict[str, Any]) -> dict[str, Any]:
        del payload["data"][0]["id"]
        payload["data"][1]["startTime"] = "the day Alice wrote her password"
        return payload

    source = make_source(lf)
    source.check()
    # The SDK's models refuse the whole page, so the source re-reads it raw: spoil both.
    lf.faults.push(V2, "mutate", count=2, mutate=spoil)
    items = read(source)
    rejected = of_type(items, Rejected)
    assert sorted(r.reason for r in rejected) == ["missing id", "startTime is not an ISO 8601 timestamp"]
    assert all(r.kind == "observation" and r.location == "v2/observations page 1" for r in rejected)
    assert all("Alice" not in r.reason and r.trace_id for r in rejected)
    assert len(of_type(items, ObservationRecord)) == 4


def test_a_score_on_a_session_is_rejected_for_having_no_trace(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    lf.add_score(name="csat", value="great", data_type="CATEGORICAL", session_id="s1", timestamp=T0)
    lf.add_score(name="helpful", value=True, data_type="BOOLEAN", trace_id="t1", timestamp=T0)
    items = read(make_source(lf), (T0, END))
    (rejected,) = of_type(items, Rejected)
    assert rejected.kind == "score" and "session" in rejected.reason
    (score,) = of_type(items, ScoreRecord)
    assert (score.value, score.string_value, score.data_type) == (1.0, "True", "BOOLEAN")


def test_read_window_refuses_naive_or_empty_windows(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    source = make_source(lf)
    with pytest.raises(ValueError, match="timezone-aware"):
        read(source, (datetime(2025, 1, 1), datetime(2025, 1, 2)))
    with pytest.raises(ValueError, match="start < end"):
        read(source, (T0, T0))


# -- failures ---------------------------------------------------------------------------
def test_wrong_keys_raise_an_auth_error_naming_the_host_and_the_env_vars(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps
) -> None:
    source = make_source(lf, secret_key="sk-lf-wrong", secret_key_env="ACME_LANGFUSE_SECRET")
    with pytest.raises(SourceAuthError) as caught:
        source.check()
    message = str(caught.value)
    assert lf.base_url.removeprefix("http://") in message
    assert "ACME_LANGFUSE_SECRET" in message and "LANGFUSE_PUBLIC_KEY" in message
    assert "sk-lf-wrong" not in message
    assert caught.value.exit_code == 77 and sleeps == []  # keys are not retried
    with pytest.raises(SourceAuthError):
        read(source)


def test_a_429_waits_for_the_retry_after_the_server_asked_for(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps
) -> None:
    lf.add_trace_bundle(chat_bundle("t1", T0))
    source = make_source(lf)
    source.check()
    lf.faults.push(V2, "rate_limit", retry_after=7)
    items = read(source)
    assert sleeps == [7.0]
    assert len(of_type(items, ObservationRecord)) == 2


def test_a_retry_after_longer_than_the_cap_is_cut_to_the_cap(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps
) -> None:
    lf.faults.push("/api/public/v3/scores", "rate_limit", retry_after=3600)
    read(make_source(lf, max_retry_after=30.0))
    assert sleeps == [30.0]


def test_a_429_on_every_attempt_raises_rate_limited(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps
) -> None:
    lf.faults.push(V2, "rate_limit", count=3, retry_after=2)
    with pytest.raises(SourceRateLimited) as caught:
        make_source(lf, max_attempts=3).check()
    assert sleeps == [2.0, 2.0] and lf.count(V2) == 3
    assert lf.base_url.removeprefix("http://") in str(caught.value) and caught.value.exit_code == 75


@pytest.mark.parametrize("kind", ["server_error", "gateway_timeout", "reset", "truncated"])
def test_transient_failures_are_retried_with_growing_jittered_backoff(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps, kind: str
) -> None:
    lf.add_trace_bundle(chat_bundle("t1", T0))
    source = make_source(lf)
    source.check()
    lf.faults.push(V2, kind, count=2)
    items = read(source)
    assert len(of_type(items, ObservationRecord)) == 2
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_persistent_500s_raise_unreachable_without_quoting_the_body(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps
) -> None:
    lf.faults.push(V2, "server_error", count=6)
    with pytest.raises(SourceUnreachable) as caught:
        read(make_source(lf))
    message = str(caught.value)
    assert lf.base_url.removeprefix("http://") in message and "HTTP 500" in message
    assert "Timeout error" not in message
    assert len(sleeps) == 5 and lf.count(V2) == 6


def test_a_request_slower_than_the_timeout_is_retried(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps
) -> None:
    lf.add_trace_bundle(chat_bundle("t1", T0))
    source = make_source(lf, timeout=0.5)
    source.check()
    lf.faults.push(V2, "delay", seconds=3.0)
    assert len(of_type(read(source), ObservationRecord)) == 2
    assert len(sleeps) == 1


def test_timeouts_on_every_attempt_raise_unreachable(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    lf.faults.push(V2, "delay", count=2, seconds=2.0)
    with pytest.raises(SourceUnreachable, match=r"timed out after 0\.2 s"):
        make_source(lf, timeout=0.2, max_attempts=2).check()


@pytest.mark.parametrize("mode", ["new", "old"])
def test_garbage_bodies_are_retried_a_few_times_then_raise_a_protocol_error(
    make_source: Callable[..., LangfuseApiSource], sleeps: Sleeps, mode: str
) -> None:
    with LangfuseStandin(mode=mode) as standin:
        standin.add_trace_bundle(chat_bundle("t1", T0))
        source = make_source(standin)
        source.check()
        path = V2 if mode == "new" else "/api/public/traces"
        standin.faults.push(path, "garbage", count=10)
        with pytest.raises(SourceProtocolError) as caught:
            read(source)
        assert standin.faults.pending() == 7  # three attempts, then it gave up
    assert "upstream" not in str(caught.value) and len(sleeps) == 2


def test_an_unreachable_host_raises_unreachable_naming_it(
    make_source: Callable[..., LangfuseApiSource],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends
    config = LangfuseApiConfig(
        base_url=f"http://127.0.0.1:{port}", public_key="pk", secret_key="sk", max_attempts=2
    )
    source = LangfuseApiSource(config, sleep=Sleeps())
    with pytest.raises(SourceUnreachable) as caught:
        source.check()
    source.close()
    assert f"127.0.0.1:{port}" in str(caught.value) and "connection refused" in str(caught.value)


def test_a_base_url_that_is_not_the_langfuse_root_is_a_protocol_error(
    lf: LangfuseStandin, make_source: Callable[..., LangfuseApiSource]
) -> None:
    with pytest.raises(SourceProtocolError, match="/api/public"):
        make_source(lf, base_url=f"{lf.base_url}/api/public").check()


def test_the_config_refuses_bad_settings_and_hides_the_secret() -> None:
    with pytest.raises(ConfigError):
        LangfuseApiConfig(base_url="cloud.langfuse.com", public_key="pk", secret_key="sk")
    with pytest.raises(ConfigError, match="missing"):
        LangfuseApiConfig(base_url="https://cloud.langfuse.com", public_key="pk", secret_key="")
    with pytest.raises(ConfigError):
        LangfuseApiConfig(
            base_url="https://cloud.langfuse.com", public_key="pk", secret_key="sk", page_limit=5000
        )
    config = LangfuseApiConfig(
        base_url="https://cloud.langfuse.com", public_key="pk", secret_key="sk-lf-secret"
    )
    assert "sk-lf-secret" not in repr(config)


# -- writing back with the SDK ----------------------------------------------------------
def test_sdk_scores_land_exactly_once_even_when_sent_twice_with_the_same_id(
    make_source: Callable[..., LangfuseApiSource],
) -> None:
    from langfuse import Langfuse

    # The SDK keeps one client per public key in the process; a fresh key isolates the test.
    with LangfuseStandin(mode="new", public_key=f"pk-lf-{uuid.uuid4().hex}") as standin:
        client = Langfuse(
            public_key=standin.public_key, secret_key=standin.secret_key, base_url=standin.base_url
        )
        try:
            trace_id = "a" * 32
            for value in (1, 1):  # the same score twice in one batch
                client.create_score(
                    name="helpful", value=value, trace_id=trace_id, score_id="s-1", data_type="BOOLEAN"
                )
            client.flush()
            client.create_score(
                name="helpful", value=0, trace_id=trace_id, score_id="s-1", data_type="BOOLEAN"
            )
            client.flush()
        finally:
            client.shutdown()
        assert [(s.id, s.value, s.string_value) for s in standin.written_scores] == [("s-1", 0.0, "False")]
        assert standin.requests[-1].method == "POST"
        (score,) = of_type(read(make_source(standin)), ScoreRecord)
    assert (score.id, score.trace_id, score.value, score.data_type) == ("s-1", trace_id, 0.0, "BOOLEAN")
