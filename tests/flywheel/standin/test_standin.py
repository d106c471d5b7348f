"""The Langfuse stand-in answers like the real server (openapi.yml, API_NOTES.md)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from flywheel.standin import LangfuseStandin
from flywheel.standin.synthetic import chat_bundle
from tests.flywheel.standin.openapi_schemas import SPEC_PATH, validate

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "langfuse" / "samples"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALL_V2_GROUPS = "core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context"


def sample(name: str) -> dict[str, Any]:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"Langfuse sample {path} is not available")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def lf() -> Iterator[LangfuseStandin]:
    with LangfuseStandin(mode="both") as standin:
        yield standin


def get(lf: LangfuseStandin, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{lf.base_url}{path}", params=params, auth=(lf.public_key, lf.secret_key), timeout=5)


def post(lf: LangfuseStandin, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{lf.base_url}{path}", json=body, auth=(lf.public_key, lf.secret_key), timeout=5)


# -- auth and health -------------------------------------------------------------------
def test_health_answers_without_keys_and_names_the_server_version(lf: LangfuseStandin) -> None:
    response = httpx.get(f"{lf.base_url}/api/public/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "OK", "version": "3.120.0"}


@pytest.mark.parametrize("auth", [None, ("pk-lf-standin", "wrong"), ("wrong", "sk-lf-standin")])
def test_wrong_or_missing_keys_get_a_401_with_a_message(lf: LangfuseStandin, auth: Any) -> None:
    response = httpx.get(f"{lf.base_url}/api/public/v2/observations", auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json()["message"]


# -- v2 observations -------------------------------------------------------------------
def test_v2_observations_serve_io_as_raw_strings_and_refuse_parse_io_as_json(lf: LangfuseStandin) -> None:
    lf.add_trace_bundle(chat_bundle("t1", T0))
    rows = get(lf, "/api/public/v2/observations", fields="core,io", traceId="t1").json()["data"]
    generation = next(r for r in rows if r["id"] == "t1-gen")
    assert isinstance(generation["input"], str)
    assert json.loads(generation["input"])[1] == {"role": "user", "content": "How do I reset my password?"}
    refused = get(lf, "/api/public/v2/observations", parseIoAsJson="true")
    assert refused.status_code == 400
    assert "parseIoAsJson" in refused.json()["message"]


def test_v2_field_groups_decide_which_fields_come_back(lf: LangfuseStandin) -> None:
    lf.add_trace_bundle(chat_bundle("t1", T0))
    core = get(lf, "/api/public/v2/observations", fields="core").json()["data"][0]
    default = get(lf, "/api/public/v2/observations").json()["data"][0]
    assert "name" not in core and "input" not in core and core["modelId"] is None
    assert {"name", "isRootObservation", "userId"} <= default.keys() and "input" not in default
    unknown = get(lf, "/api/public/v2/observations", fields="core,bogus")
    assert unknown.status_code == 400


def test_v2_metadata_is_an_object_with_long_values_cut_unless_expanded(lf: LangfuseStandin) -> None:
    bundle = chat_bundle("t1", T0)
    bundle["observations"][1]["metadata"] = json.dumps({"long": "x" * 300, "short": {"a": 1}})
    lf.add_trace_bundle(bundle)
    rows = get(lf, "/api/public/v2/observations", fields="core,metadata", type="GENERATION").json()["data"]
    assert rows[0]["metadata"] == {"long": "x" * 200, "short": {"a": 1}}
    expanded = get(
        lf, "/api/public/v2/observations", fields="metadata", type="GENERATION", expandMetadata="long"
    )
    assert expanded.json()["data"][0]["metadata"]["long"] == "x" * 300


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/public/v2/observations", 1001),
        ("/api/public/v3/scores", 101),
        ("/api/public/traces", 101),
        ("/api/public/observations", 101),
        ("/api/public/v2/observations", 0),
    ],
)
def test_limits_above_the_servers_maximum_are_a_400(lf: LangfuseStandin, path: str, limit: int) -> None:
    assert get(lf, path, limit=limit).status_code == 400


def test_v2_pages_run_newest_first_with_a_cursor_until_the_last_page(lf: LangfuseStandin) -> None:
    for n in range(4):
        lf.add_trace_bundle(chat_bundle(f"t{n}", T0 + timedelta(minutes=n)))
    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        params = {"limit": 3, "fields": "core"} | ({"cursor": cursor} if cursor else {})
        body = get(lf, "/api/public/v2/observations", **params).json()
        seen += body["data"]
        pages += 1
        cursor = body["meta"].get("cursor")
        if cursor is None:
            break
        assert set(json.loads(base64.b64decode(cursor))) == {"lastStartTimeTo", "lastTraceId", "lastId"}
    assert pages == 3 and len(seen) == 8 == len({r["id"] for r in seen})
    keys = [(r["startTime"], r["traceId"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)


def test_v2_filters_take_a_start_inclusive_and_an_end_exclusive(lf: LangfuseStandin) -> None:
    lf.add_trace_bundle(chat_bundle("a", T0, environment="prod"))
    lf.add_trace_bundle(chat_bundle("b", T0 + timedelta(hours=1), environment="dev"))
    ids = lambda **q: {r["id"] for r in get(lf, "/api/public/v2/observations", **q).json()["data"]}  # noqa: E731
    assert ids(fromStartTime=T0.isoformat(), toStartTime=(T0 + timedelta(hours=1)).isoformat()) == {
        "a-root",
        "a-gen",
    }
    assert ids(traceId="b", type="GENERATION") == {"b-gen"}
    assert ids(environment=["prod", "dev"], isRootObservation="true") == {"a-root", "b-root"}
    assert ids(isRootObservation="false", environment="dev") == {"b-gen"}
    assert ids(level="ERROR") == set()


def test_a_trace_is_its_root_observation_in_the_v4_view(lf: LangfuseStandin) -> None:
    lf.add_trace_bundle(sample("autogen-2025-06-06.trace.json"))
    rows = get(lf, "/api/public/v2/observations", fields=ALL_V2_GROUPS).json()["data"]
    root = next(r for r in rows if r["isRootObservation"])
    # The root span had no I/O of its own; the trace's I/O lives on it in v4.
    assert root["id"] == "95f4f51edeb603d9"
    assert json.loads(root["input"]) == "Say 'Hello World!'"
    assert root["traceName"] == "autogen-chat-trace" and root["tags"] == ["autogen", "dev"]
    assert root["userId"] == "user_123" and root["sessionId"] == "session_abc"
    assert sum(r["isRootObservation"] for r in rows) == 1


def test_a_legacy_trace_with_several_parentless_observations_gets_one_synthetic_root(
    lf: LangfuseStandin,
) -> None:
    trace_id = lf.add_trace_bundle(sample("openai-assistants-2024-05-29.json"))
    rows = get(lf, "/api/public/v2/observations", fields="core,basic,io").json()["data"]
    roots = [r for r in rows if r["isRootObservation"]]
    assert [r["id"] for r in roots] == [f"t-{trace_id}"]
    assert all(r["parentObservationId"] for r in rows if not r["isRootObservation"])
    assert len(rows) == 5  # four observations and the trace itself


# -- generations ------------------------------------------------------------------------
def test_a_new_server_has_no_legacy_endpoints() -> None:
    with LangfuseStandin(mode="new") as lf:
        for path in (
            "/api/public/traces",
            "/api/public/traces/x",
            "/api/public/observations",
            "/api/public/sessions",
        ):
            assert get(lf, path).status_code == 404
        assert get(lf, "/api/public/v2/observations").status_code == 200


def test_an_old_server_says_v2_needs_a_v4_write_mode() -> None:
    with LangfuseStandin(mode="old") as lf:
        for path in ("/api/public/v2/observations", "/api/public/v3/scores"):
            response = get(lf, path)
            assert response.status_code == 404
            assert "only available in a Langfuse v4 write mode" in response.json()["message"]
        assert get(lf, "/api/public/traces").status_code == 200


# -- legacy reads -----------------------------------------------------------------------
def test_legacy_traces_page_from_one_with_totals_order_and_a_deprecation(lf: LangfuseStandin) -> None:
    for n in range(5):
        lf.add_trace_bundle(chat_bundle(f"t{n}", T0 + timedelta(minutes=n)))
    body = get(lf, "/api/public/traces", page=2, limit=2, orderBy="timestamp.asc").json()
    assert [t["id"] for t in body["data"]] == ["t2", "t3"]
    assert body["meta"] == {"page": 2, "limit": 2, "totalItems": 5, "totalPages": 3}
    assert body["_deprecation"]["replacement"] == "GET /api/public/v2/observations"
    window = get(
        lf,
        "/api/public/traces",
        fromTimestamp=T0.isoformat(),
        toTimestamp=(T0 + timedelta(minutes=2)).isoformat(),
    )
    assert {t["id"] for t in window.json()["data"]} == {"t0", "t1"}
    assert get(lf, "/api/public/traces", orderBy="colour.asc").status_code == 400


def test_a_legacy_trace_carries_its_observations_and_scores_with_parsed_io(lf: LangfuseStandin) -> None:
    trace_id = lf.add_trace_bundle(sample("langgraph-python-2025-08-22.trace.json"))
    detail = get(lf, f"/api/public/traces/{trace_id}").json()
    assert len(detail["observations"]) == 9 and {s["name"] for s in detail["scores"]} == {
        "hallucination",
        "toxicity",
    }
    generation = next(o for o in detail["observations"] if o["id"] == "4f6535aaebcda355")
    assert generation["input"][0] == {"role": "user", "content": "Be helpful!"}
    assert get(lf, "/api/public/traces/nope").status_code == 404


# -- scores -----------------------------------------------------------------------------
def test_v3_scores_have_a_polymorphic_value_and_a_subject(lf: LangfuseStandin) -> None:
    lf.add_score(name="helpful", value=True, data_type="BOOLEAN", trace_id="t1", timestamp=T0)
    lf.add_score(
        name="topic",
        value="billing",
        data_type="CATEGORICAL",
        trace_id="t1",
        observation_id="o1",
        timestamp=T0,
    )
    lf.add_score(name="quality", value=0.5, trace_id="t2", timestamp=T0 + timedelta(minutes=1))
    rows = get(lf, "/api/public/v3/scores", fields="subject").json()["data"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["helpful"]["value"] is True
    assert by_name["topic"]["value"] == "billing"
    assert by_name["topic"]["subject"] == {"kind": "observation", "id": "o1", "traceId": "t1"}
    assert by_name["quality"]["value"] == 0.5 and by_name["quality"]["subject"] == {
        "kind": "trace",
        "id": "t2",
    }
    window = get(
        lf,
        "/api/public/v3/scores",
        fromTimestamp=T0.isoformat(),
        toTimestamp=(T0 + timedelta(minutes=1)).isoformat(),
    )
    assert {r["name"] for r in window.json()["data"]} == {"helpful", "topic"}


def test_v3_scores_page_with_a_cursor(lf: LangfuseStandin) -> None:
    for n in range(5):
        lf.add_score(name="q", value=n, trace_id="t", timestamp=T0 + timedelta(seconds=n))
    first = get(lf, "/api/public/v3/scores", limit=3).json()
    second = get(lf, "/api/public/v3/scores", limit=3, cursor=first["meta"]["cursor"]).json()
    assert first["meta"]["limit"] == 3 and "cursor" not in second["meta"]
    assert [r["value"] for r in first["data"] + second["data"]] == [4, 3, 2, 1, 0]


def test_posting_one_score_answers_200_with_its_id(lf: LangfuseStandin) -> None:
    response = post(
        lf, "/api/public/scores", {"name": "helpful", "value": 1, "dataType": "BOOLEAN", "traceId": "t"}
    )
    assert response.status_code == 200
    assert [s.id for s in lf.written_scores] == [response.json()["id"]]
    assert lf.written_scores[0].string_value == "True"


def test_posting_a_batch_answers_202_and_the_same_id_updates_instead_of_duplicating(
    lf: LangfuseStandin,
) -> None:
    score = {"id": "s1", "name": "quality", "value": 0.2, "traceId": "t"}
    assert post(lf, "/api/public/scores", [score]).json() == {"message": "Accepted"}
    assert post(lf, "/api/public/scores", [score | {"value": 0.9}]).status_code == 202
    assert [(s.id, s.value) for s in lf.written_scores] == [("s1", 0.9)]


def test_a_batch_with_invalid_rows_answers_207_with_one_error_per_row(lf: LangfuseStandin) -> None:
    rows = [
        {"name": "ok", "value": 1, "traceId": "t"},
        {"name": "flag", "value": 2, "dataType": "BOOLEAN", "traceId": "t"},
        {"name": "no-target", "value": 1},
    ]
    response = post(lf, "/api/public/scores", rows)
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["rejected"], len(body["errors"])) == (1, 2, 2)
    assert len(lf.written_scores) == 1


@pytest.mark.parametrize(
    ("score", "problem"),
    [
        ({"value": 2, "dataType": "BOOLEAN"}, "0 or 1"),
        ({"value": 0.5, "dataType": "CATEGORICAL"}, "string"),
        ({"value": "x" * 501, "dataType": "TEXT"}, "1 to 500"),
        ({"value": "good", "dataType": "NUMERIC"}, "numeric"),
        ({"value": 1, "source": "ANNOTATION"}, "configId"),
        ({"value": 1, "source": "EVAL"}, "reserved"),
        ({"value": 1, "observationId": "o", "traceId": None, "sessionId": "s"}, "requires traceId"),
        ({"value": 1, "environment": "langfuse-internal"}, "environment"),
        ({"value": 1, "configId": "missing"}, "score config"),
    ],
)
def test_scores_breaking_the_api_rules_are_refused(
    lf: LangfuseStandin, score: dict[str, Any], problem: str
) -> None:
    response = post(lf, "/api/public/scores", {"name": "n", "traceId": "t"} | score)
    assert response.status_code == 400
    assert problem in response.json()["message"]


def test_a_score_config_fixes_name_type_and_categories(lf: LangfuseStandin) -> None:
    config_id = lf.add_score_config(
        name="topic",
        dataType="CATEGORICAL",
        categories=[{"value": 1, "label": "billing"}, {"value": 2, "label": "bug"}],
    )
    ok = post(
        lf, "/api/public/scores", {"name": "topic", "value": "bug", "configId": config_id, "traceId": "t"}
    )
    assert ok.status_code == 200 and lf.written_scores[0].value == 2
    wrong = post(
        lf, "/api/public/scores", {"name": "topic", "value": "other", "configId": config_id, "traceId": "t"}
    )
    assert wrong.status_code == 400
    listed = get(lf, "/api/public/score-configs").json()
    assert [c["id"] for c in listed["data"]] == [config_id]
    assert get(lf, f"/api/public/score-configs/{config_id}").json()["name"] == "topic"


def test_a_correction_is_always_named_output_holds_its_text_and_takes_no_config(lf: LangfuseStandin) -> None:
    long_text = "corrected " * 100  # CORRECTION has no 500-character limit, unlike TEXT
    body = {"name": "fix", "value": long_text, "dataType": "CORRECTION", "traceId": "t", "observationId": "o"}
    assert post(lf, "/api/public/scores", body).status_code == 200
    stored = lf.written_scores[0]
    assert (stored.name, stored.value, stored.string_value) == ("output", 0.0, long_text)
    config_id = lf.add_score_config(name="fix", dataType="NUMERIC")
    refused = post(lf, "/api/public/scores", body | {"configId": config_id})
    assert refused.status_code == 400 and "cannot reference a score config" in refused.json()["message"]


def test_deleting_a_score_answers_204_and_a_missing_one_404(lf: LangfuseStandin) -> None:
    score_id = post(lf, "/api/public/scores", {"name": "q", "value": 1, "traceId": "t"}).json()["id"]
    url = f"{lf.base_url}/api/public/scores/{score_id}"
    gone = httpx.delete(url, auth=(lf.public_key, lf.secret_key), timeout=5)
    assert (gone.status_code, gone.content) == (204, b"")
    assert lf.written_scores == [] and lf.scores_on("t") == []
    assert httpx.delete(url, auth=(lf.public_key, lf.secret_key), timeout=5).status_code == 404


def test_a_server_without_score_batches_refuses_arrays_and_takes_one_object() -> None:
    with LangfuseStandin(score_batches=False) as lf:
        score = {"name": "q", "value": 1, "traceId": "t"}
        refused = post(lf, "/api/public/scores", [score])
        assert refused.status_code == 400 and "received array" in refused.json()["message"]
        assert post(lf, "/api/public/scores", score).status_code == 200


def test_write_requests_are_logged_with_their_bodies_and_reads_without(lf: LangfuseStandin) -> None:
    post(lf, "/api/public/scores", [{"name": "q", "value": 1, "traceId": "t"}])
    get(lf, "/api/public/v3/scores")
    write, read = lf.requests
    assert write.method == "POST" and write.json() == [{"name": "q", "value": 1, "traceId": "t"}]
    assert read.body == b"" and read.json() is None


def test_scores_on_lists_seeded_and_written_scores_of_one_trace(lf: LangfuseStandin) -> None:
    lf.add_score(name="seeded", value=1.0, trace_id="t", timestamp=T0)
    post(
        lf, "/api/public/scores", {"name": "written", "value": "x", "dataType": "CATEGORICAL", "traceId": "t"}
    )
    post(lf, "/api/public/scores", {"name": "elsewhere", "value": 1, "traceId": "u"})
    assert [s.name for s in lf.scores_on("t")] == ["seeded", "written"]


# -- faults -----------------------------------------------------------------------------
def test_a_rate_limit_fault_sends_retry_after_and_the_langfuse_body_then_recovers(
    lf: LangfuseStandin,
) -> None:
    lf.faults.push("/api/public/v2/observations", "rate_limit", retry_after=7)
    limited = get(lf, "/api/public/v2/observations")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.headers["X-RateLimit-Remaining"] == "0" and "GMT" in limited.headers["X-RateLimit-Reset"]
    assert limited.json()["code"] == "rate_limited" and limited.json()["details"]["retryAfterSeconds"] == 7
    assert get(lf, "/api/public/v2/observations").status_code == 200
    assert lf.request_counts["/api/public/v2/observations"] == 2


def test_server_error_and_gateway_timeout_faults_look_like_the_real_ones(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/traces", "server_error")
    lf.faults.push("/api/public/traces", "gateway_timeout")
    first, second = get(lf, "/api/public/traces"), get(lf, "/api/public/traces")
    assert (first.status_code, first.json()) == (500, {"message": "Timeout error"})
    assert second.status_code == 524 and "text/html" in second.headers["Content-Type"]
    assert lf.faults.pending() == 0


def test_body_faults_truncate_or_garble_a_successful_answer(lf: LangfuseStandin) -> None:
    lf.add_trace_bundle(chat_bundle("t1", T0))
    lf.faults.push("/api/public/v2/observations", "truncated")
    lf.faults.push("/api/public/v2/observations", "garbage")
    for _ in range(2):
        response = get(lf, "/api/public/v2/observations")
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()


def test_a_reset_fault_drops_the_connection(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/health", "reset")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{lf.base_url}/api/public/health", timeout=5)
    assert httpx.get(f"{lf.base_url}/api/public/health", timeout=5).status_code == 200


def test_a_delay_fault_outlasts_a_short_client_timeout(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/health", "delay", seconds=1.0)
    with pytest.raises(httpx.TimeoutException):
        httpx.get(f"{lf.base_url}/api/public/health", timeout=0.2)


def test_faults_only_hit_their_path_prefix_and_count(lf: LangfuseStandin) -> None:
    lf.faults.push("/api/public/v3/scores", "status", count=2, status=503)
    assert get(lf, "/api/public/v2/observations").status_code == 200
    assert [get(lf, "/api/public/v3/scores").status_code for _ in range(3)] == [503, 503, 200]
    with pytest.raises(ValueError, match="needs the 'seconds' option"):
        lf.faults.push("/api", "delay")


# -- the spec ---------------------------------------------------------------------------
@pytest.mark.skipif(
    not SPEC_PATH.exists(), reason=f"openapi.yml not found at {SPEC_PATH}; set LANGFUSE_OPENAPI"
)
def test_responses_validate_against_the_openapi_component_schemas(lf: LangfuseStandin) -> None:
    for name in sorted(p.name for p in SAMPLES.glob("*.json")):
        lf.add_trace_bundle(sample(name))
    lf.add_trace_bundle(chat_bundle("synthetic", T0, tools=2))
    lf.add_score(name="ok", value=False, data_type="BOOLEAN", trace_id="synthetic", timestamp=T0)
    lf.add_score(name="topic", value="billing", data_type="CATEGORICAL", trace_id="synthetic", timestamp=T0)
    lf.add_score(name="note", value="fine", data_type="TEXT", session_id="s1", timestamp=T0)
    config_id = lf.add_score_config(name="quality", dataType="NUMERIC", minValue=0, maxValue=1)
    checks = [
        (get(lf, "/api/public/health"), "HealthResponse"),
        (get(lf, "/api/public/v2/observations", fields=ALL_V2_GROUPS, limit=1000), "ObservationsV2Response"),
        (get(lf, "/api/public/v2/observations", limit=2), "ObservationsV2Response"),
        (get(lf, "/api/public/v3/scores", fields="details,subject,annotation"), "GetScoresV3Response"),
        (get(lf, "/api/public/v3/scores", limit=1), "GetScoresV3Response"),
        (get(lf, "/api/public/traces", limit=100), "Traces"),
        (get(lf, "/api/public/traces", fields="core"), "Traces"),
        (get(lf, "/api/public/observations", limit=100), "legacyObservationsViews"),
        (get(lf, "/api/public/sessions"), "PaginatedSessions"),
        (get(lf, "/api/public/score-configs"), "ScoreConfigs"),
        (get(lf, f"/api/public/score-configs/{config_id}"), "ScoreConfig"),
        (
            post(lf, "/api/public/scores", {"name": "quality", "value": 0.4, "traceId": "synthetic"}),
            "CreateScoreResponse",
        ),
    ]
    for trace in get(lf, "/api/public/traces", limit=100).json()["data"]:
        checks.append((get(lf, f"/api/public/traces/{trace['id']}"), "TraceWithFullDetails"))
    for response, schema in checks:
        assert response.status_code == 200, schema
        validate(response.json(), schema)
    with pytest.raises(jsonschema.ValidationError):  # the check is not vacuous
        validate({"data": [{"id": "x"}], "meta": {}}, "ObservationsV2Response")


# -- the command line -------------------------------------------------------------------
def test_the_command_line_serves_bundles_from_a_jsonl_file(tmp_path: Path) -> None:
    data = tmp_path / "traces.jsonl"
    data.write_text(
        "\n".join(json.dumps(chat_bundle(f"t{n}", T0)) for n in range(3)) + "\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "flywheel.standin", "--port", "0", "--mode", "old", "--data", str(data)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        banner = process.stderr.readline() + process.stderr.readline()
        base_url = banner.split("LANGFUSE_BASE_URL=")[1].split()[0]
        body = httpx.get(
            f"{base_url}/api/public/traces", auth=("pk-lf-standin", "sk-lf-standin"), timeout=5
        ).json()
        assert body["meta"]["totalItems"] == 3
    finally:
        process.terminate()
        process.wait(timeout=5)
