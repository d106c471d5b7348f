"""Langfuse export files -> records: every format, malformed rows quarantined, streaming."""

from __future__ import annotations

import csv
import gzip
import json
import os
import tempfile
import tracemalloc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flywheel.errors import InvalidInput, NotFound
from flywheel.ingest.files import Table, iter_file, iter_files, open_export
from flywheel.ingest.files.values import to_utc
from flywheel.ingest.records import ObservationRecord, Rejected, ScoreRecord, TraceRecord

REPO = Path(__file__).resolve().parents[3]
SAMPLES = Path(os.environ.get("FLYWHEEL_SHARED", REPO.parent / "shared")) / "langfuse" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/langfuse/samples not found")
EMAIL = "jane.doe@example.org"
R = TypeVar("R")


# --- writers that imitate what Langfuse produces -----------------------------------------


def csv_cell(value: Any) -> str:
    # transformStreamToCsv: null -> "", objects JSON.stringify'd, every field quoted.
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def write(path: Path, rows: list[Any]) -> Path:
    """Rows in the format the file name says: .json, .jsonl, .csv (each maybe .gz), .parquet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        # Objects as JSON text (Arrow cannot store empty structs); real Arrow maps, timestamps
        # and decimals have their own test below.
        flat = [{k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()} for row in rows]
        pq.write_table(pa.Table.from_pylist(flat), path)
        return path
    opener: Callable[..., Any] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        if name.endswith(".jsonl"):
            out.writelines(json.dumps(row) + "\n" for row in rows)
        elif name.endswith(".json"):
            json.dump(rows, out, separators=(",", ":"))
        else:
            writer = csv.writer(out, quoting=csv.QUOTE_ALL)
            writer.writerow(list(rows[0]))
            writer.writerows([csv_cell(row.get(key)) for key in rows[0]] for row in rows)
    return path


def of_type(items: Iterable[object], kind: type[R]) -> list[R]:
    return [item for item in items if isinstance(item, kind)]


def read_all(path: Path) -> list[Any]:
    """Every item of one file, loosely typed so a test can unpack what it expects."""
    return list(iter_file(path))


def rejects(items: list[Any]) -> list[Rejected]:
    return of_type(items, Rejected)


# --- download-trace JSON: the four real samples ------------------------------------------

SAMPLE_COUNTS = {
    "autogen-2025-06-06.trace.json": (2, 0),
    "langgraph-python-2025-08-22.trace.json": (9, 2),
    "llamaindex-2025-06-05.trace.json": (2, 0),
    "openai-assistants-2024-05-29.json": (4, 0),
}


@needs_samples
@pytest.mark.parametrize(("sample", "counts"), SAMPLE_COUNTS.items())
def test_each_download_sample_yields_its_trace_then_observations_then_scores(sample, counts):
    items = read_all(SAMPLES / sample)
    assert rejects(items) == []
    assert isinstance(items[0], TraceRecord)
    assert (len(of_type(items, ObservationRecord)), len(of_type(items, ScoreRecord))) == counts
    assert all(o.trace_id == items[0].id for o in of_type(items, ObservationRecord))
    assert open_export(SAMPLES / sample).table is Table.DOWNLOAD


@needs_samples
def test_raw_json_strings_in_a_download_are_parsed_and_plain_text_stays_text():
    trace, span, generation = read_all(SAMPLES / "autogen-2025-06-06.trace.json")
    assert trace.input == "Say 'Hello World!'"
    assert trace.metadata["email"] == "user@langfuse.com"
    assert trace.tags == ("autogen", "dev")
    assert trace.timestamp == datetime(2025, 6, 6, 11, 31, 33, 965000, tzinfo=UTC)
    # The top-level observations carry the I/O; the copy inside "trace" has it nulled.
    assert generation.input.startswith("system: You are a helpful AI assistant.")
    assert generation.output == "Hello World!"
    assert (generation.type, generation.model, generation.parent_id) == ("GENERATION", "gpt-4o", span.id)
    assert generation.usage == {"input": 41, "output": 3, "total": 44}
    assert generation.total_cost == pytest.approx(0.000025)


@needs_samples
def test_doubly_encoded_io_of_the_seeder_sample_is_unwrapped():
    trace = read_all(SAMPLES / "openai-assistants-2024-05-29.json")[0]
    assert trace.input == {
        "args": ["I need to solve the equation `3x + 11 = 14`. Can you help me?"],
        "kwargs": {},
    }
    assert trace.output.startswith("Sure, first subtract 11")


@needs_samples
def test_latency_comes_from_the_timestamps_whether_the_file_wrote_seconds_or_milliseconds():
    autogen = {
        o.id: o for o in of_type(read_all(SAMPLES / "autogen-2025-06-06.trace.json"), ObservationRecord)
    }
    assistants = of_type(read_all(SAMPLES / "openai-assistants-2024-05-29.json"), ObservationRecord)
    by_name = {o.name: o for o in assistants}
    assert autogen["95f4f51edeb603d9"].latency_ms == 645.0  # file says 0.645 (seconds)
    assert by_name["get_response"].latency_ms == 1993.0  # file says 1993 (ms, 2024 seeder)
    assert by_name[""].latency_ms is None  # no endTime and latency null


@needs_samples
def test_trace_scores_of_a_download_keep_their_ids_source_and_comment():
    scores = of_type(read_all(SAMPLES / "langgraph-python-2025-08-22.trace.json"), ScoreRecord)
    hallucination = next(s for s in scores if s.name == "hallucination")
    assert hallucination.id == "1c2fb813-8481-4843-bcf8-cfb54b46da44"
    assert (hallucination.value, hallucination.data_type, hallucination.source) == (0.1, "NUMERIC", "EVAL")
    assert (hallucination.comment or "").startswith("The generation accurately describes")
    assert hallucination.trace_id == "e1fde3efec57ce8a69bafd3fb928a7eb"


@needs_samples
def test_detailed_usage_keys_are_kept_as_numbers():
    generation = of_type(read_all(SAMPLES / "llamaindex-2025-06-05.trace.json"), ObservationRecord)[1]
    assert generation.usage["prompt_details.cache_read"] == 0
    assert generation.usage["total"] == 94
    assert generation.input == {"args": ["What is Langfuse?"]}


@needs_samples
@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".jsonl.gz"])
def test_several_download_traces_in_an_array_or_one_per_line_are_all_read(tmp_path, suffix):
    bundles = [json.loads(p.read_text()) for p in sorted(SAMPLES.glob("*.json"))]
    items = read_all(write(tmp_path / f"downloads{suffix}", bundles))
    assert len(of_type(items, TraceRecord)) == 4
    assert len(of_type(items, ObservationRecord)) == 17
    assert rejects(items) == []


# --- UI batch exports ---------------------------------------------------------------------


def ui_trace_row(trace_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": trace_id, "timestamp": "2025-03-01T10:00:00.000Z", "name": "support-chat",
        "userId": "u-1", "sessionId": "s-1", "release": None, "version": "v2",
        "environment": "production", "tags": ["support", "beta"], "bookmarked": False,
        "public": False, "input": {"question": "How do I reset my password?"},
        "output": "Click 'Forgot password'.", "metadata": {"region": "eu"}, "comments": [],
        "helpfulness": [1, 0.5], "sentiment": ["positive"], "unscored": None, **extra,
    }  # fmt: skip


UI_FORMATS = [".json", ".jsonl", ".csv"]


@pytest.mark.parametrize("suffix", UI_FORMATS)
def test_a_ui_trace_export_yields_traces_and_their_score_columns_as_scores(tmp_path, suffix):
    path = write(tmp_path / f"traces{suffix}", [ui_trace_row("t-1"), ui_trace_row("t-2", helpfulness=[])])
    items = read_all(path)
    assert open_export(path).table is Table.UI_TRACES
    assert rejects(items) == []
    first = items[0]
    assert (first.id, first.name, first.user_id, first.session_id) == ("t-1", "support-chat", "u-1", "s-1")
    assert first.tags == ("support", "beta")
    assert first.input == {"question": "How do I reset my password?"}
    assert first.output == "Click 'Forgot password'."
    assert first.metadata == {"region": "eu"}
    assert first.timestamp == datetime(2025, 3, 1, 10, tzinfo=UTC)
    scores = {s.id: s for s in of_type(items, ScoreRecord)}
    assert set(scores) == {"t-1:helpfulness:0", "t-1:helpfulness:1", "t-1:sentiment:0", "t-2:sentiment:0"}
    assert (scores["t-1:helpfulness:1"].value, scores["t-1:helpfulness:1"].data_type) == (0.5, "NUMERIC")
    assert (scores["t-1:sentiment:0"].string_value, scores["t-1:sentiment:0"].data_type) == (
        "positive",
        "CATEGORICAL",
    )


def test_score_ids_of_a_ui_export_are_the_same_on_every_import(tmp_path):
    path = write(tmp_path / "traces.jsonl", [ui_trace_row("t-1")])
    ids = lambda: [s.id for s in of_type(read_all(path), ScoreRecord)]  # noqa: E731
    assert ids() == ids()


def ui_observation_row(obs_id: str, trace_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": obs_id, "traceId": trace_id, "type": "GENERATION", "parentObservationId": None,
        "startTime": "2025-03-01T10:00:00.000Z", "endTime": "2025-03-01T10:00:01.250Z",
        "name": "llm", "level": "DEFAULT", "statusMessage": None, "version": None,
        "input": [{"role": "user", "content": "hi"}], "output": {"role": "assistant", "content": "hello"},
        "providedModelName": "gpt-4o-mini", "usageDetails": {"input": 5, "output": 2, "total": 7},
        "costDetails": {"total": 0.0002}, "totalCost": 0.0002, "latency": 1.25,
        "toolCallNames": ["search"], "traceName": "support-chat", "traceTags": ["support"],
        "traceTimestamp": "2025-03-01T09:59:59.000Z", "userId": "u-1", "comments": [],
        "correctness": [1], **extra,
    }  # fmt: skip


@pytest.mark.parametrize("suffix", UI_FORMATS)
def test_a_ui_observation_export_announces_each_trace_once_before_its_observations(tmp_path, suffix):
    rows = [
        ui_observation_row("o-1", "t-1"),
        ui_observation_row("o-2", "t-1", type="SPAN", correctness=None),
        ui_observation_row("o-3", "t-2", endTime=None, latency=2.5, level="WARNING", traceTags="a,b"),
    ]
    items = read_all(write(tmp_path / f"observations{suffix}", rows))
    assert rejects(items) == []
    kinds = [type(item).__name__ for item in items]
    assert kinds == [
        "TraceRecord", "ObservationRecord", "ScoreRecord", "ObservationRecord",
        "TraceRecord", "ObservationRecord", "ScoreRecord",
    ]  # fmt: skip
    stub = items[0]
    assert (stub.id, stub.name, stub.tags, stub.user_id) == ("t-1", "support-chat", ("support",), "u-1")
    assert stub.timestamp == datetime(2025, 3, 1, 9, 59, 59, tzinfo=UTC)
    assert items[4].tags == ("a", "b")
    first, third = items[1], items[5]
    assert (first.model, first.usage, first.latency_ms) == (
        "gpt-4o-mini",
        {"input": 5, "output": 2, "total": 7},
        1250.0,
    )
    assert first.input == [{"role": "user", "content": "hi"}]
    assert (third.latency_ms, third.level) == (2500.0, "WARNING")  # no endTime: latency is seconds
    assert items[2].id == "t-1:o-1:correctness:0" and items[2].observation_id == "o-1"


# --- blob-storage exports -----------------------------------------------------------------

CH_TIME = "2025-01-02 03:04:05.678"  # ClickHouse writes naive UTC times
BLOB_ROWS: dict[str, list[dict[str, Any]]] = {
    "traces": [
        {
            "id": "t-1", "timestamp": CH_TIME, "name": "chat", "environment": "default",
            "project_id": "p-1", "metadata": {"tier": "gold"}, "user_id": "u-1", "session_id": "s-1",
            "release": "1.0", "version": None, "public": False, "bookmarked": True,
            "tags": ["a", "b"], "input": '{"question":"hi"}', "output": "hello",
            "created_at": CH_TIME, "updated_at": "2025-01-02 03:05:00.000",
        },
    ],
    "observations": [
        {
            "id": "o-1", "trace_id": "t-1", "project_id": "p-1", "environment": "default",
            "type": "GENERATION", "parent_observation_id": None, "start_time": CH_TIME,
            "end_time": "2025-01-02 03:04:06.178", "name": "llm", "metadata": {}, "level": "ERROR",
            "status_message": "rate limited", "version": None,
            "input": '[{"role":"user","content":"hi"}]', "output": '{"role":"assistant","content":"hello"}',
            "provided_model_name": "gpt-4o", "model_parameters": "{}",
            "usage_details": {"input": 3, "output": 1, "total": 4}, "cost_details": {"total": 0.001},
            "total_cost": 0.001, "latency": 0.5, "time_to_first_token": None,
        },
        {
            "id": "o-2", "trace_id": "t-1", "project_id": "p-1", "environment": "default",
            "type": "SPAN", "parent_observation_id": "o-1", "start_time": CH_TIME, "end_time": None,
            "name": "tool", "metadata": {}, "level": "DEFAULT", "status_message": None, "version": None,
            "input": "plain text", "output": None, "provided_model_name": None, "model_parameters": None,
            "usage_details": {}, "cost_details": {}, "total_cost": None, "latency": 2.0,
            "time_to_first_token": None,
        },
    ],
    "scores": [
        {
            "id": "s-1", "timestamp": CH_TIME, "project_id": "p-1", "environment": "default",
            "trace_id": "t-1", "observation_id": "o-1", "session_id": None, "dataset_run_id": None,
            "name": "quality", "value": 0.8, "source": "ANNOTATION", "comment": "fine",
            "data_type": "NUMERIC", "string_value": None,
        },
        {
            "id": "s-2", "timestamp": CH_TIME, "project_id": "p-1", "environment": "default",
            "trace_id": "t-1", "observation_id": None, "session_id": None, "dataset_run_id": None,
            "name": "tone", "value": 0.0, "source": "API", "comment": None,
            "data_type": "CATEGORICAL", "string_value": "polite",
        },
    ],
    "observations_v2": [
        {
            "id": "o-child", "trace_id": "t-9", "start_time": "2025-01-02 03:04:06.000",
            "end_time": "2025-01-02 03:04:07.000", "type": "GENERATION", "name": "llm",
            "parent_observation_id": "o-root", "is_root_observation": False, "trace_name": "agent run",
            "user_id": "u-9", "session_id": "s-9", "tags": ["x"], "release": "1.2",
            "environment": "default", "level": "DEFAULT", "input": '"question?"', "output": '"answer"',
            "provided_model_name": "gpt-4o", "usage_details": {"total": 9}, "total_cost": 0.01,
            "latency": 1.0,
        },
        {
            "id": "o-root", "trace_id": "t-9", "start_time": CH_TIME, "end_time": "2025-01-02 03:04:08.000",
            "type": "SPAN", "name": "root", "parent_observation_id": None, "is_root_observation": True,
            "trace_name": "agent run", "user_id": "u-9", "session_id": "s-9", "tags": ["x"],
            "release": "1.2", "environment": "default", "level": "DEFAULT",
            "input": '{"task":"plan"}', "output": '"done"', "provided_model_name": None,
            "usage_details": {}, "total_cost": None, "latency": 2.322,
        },
    ],
}  # fmt: skip
BLOB_FORMATS = [".jsonl", ".jsonl.gz", ".json", ".csv", ".csv.gz", ".parquet"]


def blob_file(tmp_path: Path, table: str, suffix: str) -> list[Any]:
    path = write(tmp_path / "p-1" / table / f"2025-01-02T03-00-00{suffix}", BLOB_ROWS[table])
    return list(iter_file(path))


@pytest.mark.parametrize("suffix", BLOB_FORMATS)
def test_a_blob_traces_file_yields_traces(tmp_path, suffix):
    items = blob_file(tmp_path, "traces", suffix)
    assert rejects(items) == []
    (trace,) = items
    assert trace.timestamp == datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert trace.updated_at == datetime(2025, 1, 2, 3, 5, tzinfo=UTC)
    assert (trace.user_id, trace.session_id, trace.release, trace.tags) == ("u-1", "s-1", "1.0", ("a", "b"))
    assert (trace.input, trace.output, trace.metadata) == ({"question": "hi"}, "hello", {"tier": "gold"})


@pytest.mark.parametrize("suffix", BLOB_FORMATS)
def test_a_blob_observations_file_yields_observations_with_latency_in_milliseconds(tmp_path, suffix):
    items = blob_file(tmp_path, "observations", suffix)
    assert rejects(items) == []
    generation, span = items
    assert (generation.level, generation.status_message, generation.model) == (
        "ERROR",
        "rate limited",
        "gpt-4o",
    )
    assert generation.input == [{"role": "user", "content": "hi"}]
    assert generation.output == {"role": "assistant", "content": "hello"}
    assert generation.usage == {"input": 3, "output": 1, "total": 4}
    assert (generation.total_cost, generation.latency_ms) == (0.001, 500.0)
    assert (span.parent_id, span.input, span.latency_ms) == ("o-1", "plain text", 2000.0)


@pytest.mark.parametrize("suffix", BLOB_FORMATS)
def test_a_blob_scores_file_yields_numeric_and_categorical_scores(tmp_path, suffix):
    items = blob_file(tmp_path, "scores", suffix)
    assert rejects(items) == []
    quality, tone = items
    assert (quality.id, quality.observation_id, quality.value, quality.source) == (
        "s-1",
        "o-1",
        0.8,
        "ANNOTATION",
    )
    assert (tone.data_type, tone.string_value, tone.observation_id) == ("CATEGORICAL", "polite", None)
    assert quality.timestamp == datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.mark.parametrize("suffix", BLOB_FORMATS)
def test_a_blob_observations_v2_file_yields_the_trace_from_its_root_observation(tmp_path, suffix):
    items = blob_file(tmp_path, "observations_v2", suffix)
    assert rejects(items) == []
    assert [type(i).__name__ for i in items] == [
        "TraceRecord",
        "ObservationRecord",
        "TraceRecord",
        "ObservationRecord",
    ]
    stub, child, full, root = items
    assert (stub.id, stub.name, stub.user_id, stub.tags, stub.input) == (
        "t-9",
        "agent run",
        "u-9",
        ("x",),
        None,
    )
    assert (full.id, full.input, full.output, full.release) == ("t-9", {"task": "plan"}, "done", "1.2")
    assert full.timestamp == root.start_time
    assert (child.parent_id, child.output) == ("o-root", "answer")


def test_a_parquet_file_with_real_arrow_types_is_read(tmp_path):
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("trace_id", pa.string()),
            ("type", pa.string()),
            ("start_time", pa.timestamp("ms")),
            ("end_time", pa.timestamp("ms", tz="UTC")),
            ("usage_details", pa.map_(pa.string(), pa.int64())),
            ("cost_details", pa.map_(pa.string(), pa.decimal128(38, 12))),
            ("level", pa.string()),
        ]
    )
    start = datetime(2025, 1, 2, 3, 4, 5)
    table = pa.Table.from_pylist(
        [
            {
                "id": "o-1",
                "trace_id": "t-1",
                "type": "GENERATION",
                "start_time": start,
                "end_time": start.replace(second=6, tzinfo=UTC),
                "usage_details": [("input", 3), ("total", 4)],
                "cost_details": [("total", Decimal("0.25"))],
                "level": "DEFAULT",
            }
        ],
        schema=schema,
    )
    path = tmp_path / "observations" / "x.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    (observation,) = read_all(path)
    assert observation.start_time == start.replace(tzinfo=UTC)
    assert (observation.usage, observation.total_cost, observation.latency_ms) == (
        {"input": 3, "total": 4},
        0.25,
        1000.0,
    )


def test_the_table_is_told_from_the_columns_without_a_blob_key_path(tmp_path):
    for table, expected in [
        ("traces", Table.TRACES),
        ("observations", Table.OBSERVATIONS),
        ("scores", Table.SCORES),
        ("observations_v2", Table.OBSERVATIONS_V2),
    ]:
        assert open_export(write(tmp_path / f"{table}.jsonl", BLOB_ROWS[table])).table is expected


def test_the_blob_key_path_decides_between_observations_and_observations_v2(tmp_path):
    row = {"id": "o", "trace_id": "t", "start_time": CH_TIME, "type": "SPAN"}
    assert (
        open_export(write(tmp_path / "p" / "observations_v2" / "a.jsonl", [row])).table
        is Table.OBSERVATIONS_V2
    )
    assert open_export(write(tmp_path / "p" / "observations" / "a.jsonl", [row])).table is Table.OBSERVATIONS


def test_files_given_together_load_traces_then_observations_then_scores(tmp_path):
    paths = [
        write(tmp_path / f"{table}.csv.gz", BLOB_ROWS[table])
        for table in ("scores", "observations", "traces")
    ]
    kinds = [type(item).__name__ for item in iter_files(paths)]
    assert kinds == ["TraceRecord", "ObservationRecord", "ObservationRecord", "ScoreRecord", "ScoreRecord"]


def test_observation_files_do_not_repeat_a_trace_that_a_trace_file_gave_whole(tmp_path):
    traces = write(tmp_path / "traces.jsonl", [ui_trace_row("t-1")])
    observations = write(tmp_path / "observations.jsonl", [ui_observation_row("o-1", "t-1")])
    items = list(iter_files([observations, traces]))
    (trace,) = of_type(items, TraceRecord)
    assert trace.input == {"question": "How do I reset my password?"}
    assert [o.id for o in of_type(items, ObservationRecord)] == ["o-1"]


# --- parsing rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-02T03:04:05Z",
        "2025-01-02T03:04:05.000Z",
        "2025-01-02 03:04:05",
        "2025-01-02T05:04:05+02:00",
        1735787045,
        1735787045000,
        "1735787045",
        datetime(2025, 1, 2, 3, 4, 5),
    ],
)
def test_timestamps_in_iso_8601_or_epoch_become_aware_utc(value):
    assert to_utc(value) == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("tags", [["a", "b"], '["a","b"]', "a, b", "a,b"])
def test_tags_may_be_a_list_a_json_array_or_a_comma_string(tmp_path, tags):
    (trace,) = read_all(write(tmp_path / "traces.jsonl", [{**BLOB_ROWS["traces"][0], "tags": tags}]))
    assert trace.tags == ("a", "b")


# --- malformed input: quarantined, the rest still loads, no content in reasons -------------


def test_a_row_without_an_id_is_rejected_and_the_next_row_still_loads(tmp_path):
    rows = [ui_trace_row("t-1"), {**ui_trace_row(""), "userId": EMAIL}, ui_trace_row("t-3")]
    items = read_all(write(tmp_path / "traces.jsonl", rows))
    assert [t.id for t in of_type(items, TraceRecord)] == ["t-1", "t-3"]
    (reject,) = rejects(items)
    assert (reject.kind, reject.location, reject.reason) == (
        "trace",
        "traces.jsonl:2",
        "field 'id' is missing",
    )


def test_a_bad_timestamp_is_rejected_naming_the_field_but_not_the_value(tmp_path):
    rows = [ui_observation_row("o-1", "t-1", startTime=EMAIL), ui_observation_row("o-2", "t-1")]
    items = read_all(write(tmp_path / "observations.csv", rows))
    (reject,) = rejects(items)
    assert reject.reason == "timestamp 'startTime' is not ISO 8601 or an epoch number"
    assert (reject.kind, reject.external_id, reject.trace_id, reject.location) == (
        "observation",
        "o-1",
        "t-1",
        "observations.csv:2",
    )
    assert [o.id for o in of_type(items, ObservationRecord)] == ["o-2"]


def test_a_level_outside_the_four_langfuse_levels_is_rejected(tmp_path):
    rows = [{**BLOB_ROWS["observations"][0], "level": EMAIL}, BLOB_ROWS["observations"][1]]
    items = read_all(write(tmp_path / "observations" / "x.jsonl", rows))
    (reject,) = rejects(items)
    assert reject.reason == "field 'level' is not one of DEBUG, DEFAULT, WARNING, ERROR"
    assert len(of_type(items, ObservationRecord)) == 1


def test_a_row_that_is_not_an_object_is_rejected(tmp_path):
    items = list(
        iter_file(write(tmp_path / "traces.json", [ui_trace_row("t-1"), 42, [EMAIL], ui_trace_row("t-4")]))
    )
    assert [(r.location, r.reason) for r in rejects(items)] == [
        ("traces.json:2", "row is not a JSON object"),
        ("traces.json:3", "row is not a JSON object"),
    ]
    assert len(of_type(items, TraceRecord)) == 2


def test_a_line_that_is_not_json_is_rejected_by_line_number(tmp_path):
    path = write(tmp_path / "traces.jsonl", [ui_trace_row("t-1")])
    with path.open("a") as out:
        out.write('{"id": "t-2", "userId": "' + EMAIL + '"\n')
        out.write(json.dumps(ui_trace_row("t-3")) + "\n")
    items = read_all(path)
    (reject,) = rejects(items)
    assert reject.location == "traces.jsonl:2" and reject.reason.startswith("line is not valid JSON")
    assert len(of_type(items, TraceRecord)) == 2


def test_non_numeric_cost_and_a_short_csv_row_are_rejected(tmp_path):
    rows = [ui_observation_row("o-1", "t-1", totalCost=EMAIL), ui_observation_row("o-2", "t-1")]
    path = write(tmp_path / "observations.csv", rows)
    with path.open("a") as out:
        out.write(f'"o-3","t-1","{EMAIL}"\n')
    items = read_all(path)
    assert [r.reason for r in rejects(items)] == [
        "field 'totalCost' is not a number",
        f"CSV row has 3 fields, the header has {len(rows[0])}",
    ]
    assert [o.id for o in of_type(items, ObservationRecord)] == ["o-2"]


def test_a_truncated_json_array_keeps_every_complete_item_and_rejects_the_rest(tmp_path):
    path = write(tmp_path / "traces.json", [ui_trace_row(f"t-{i}") for i in range(3)])
    text = path.read_text()
    path.write_text(text[: text.rindex('"t-2"') + 40])
    items = read_all(path)
    assert [t.id for t in of_type(items, TraceRecord)] == ["t-0", "t-1"]
    (reject,) = rejects(items)
    assert reject.location == "traces.json:3" and "truncated" in reject.reason


def test_a_truncated_gzip_keeps_the_rows_before_the_damage(tmp_path):
    path = write(
        tmp_path / "traces.jsonl.gz", [ui_trace_row(f"t-{i}", input=os.urandom(64).hex()) for i in range(300)]
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    items = read_all(path)
    assert 0 < len(of_type(items, TraceRecord)) < 300
    assert [r.reason for r in rejects(items)] == [
        "gzip stream is corrupt or truncated; the rest of the file was not read"
    ]
    assert items[-1] == rejects(items)[0]


def test_a_file_that_is_not_gzip_despite_its_name_is_one_reject(tmp_path):
    path = tmp_path / "traces.csv.gz"
    path.write_bytes(b'"id","timestamp"\n"' + EMAIL.encode() + b'","x"\n')
    (reject,) = read_all(path)
    assert (reject.kind, reject.location) == ("unknown", "traces.csv.gz:1")
    assert "gzip" in reject.reason


def test_no_reject_reason_quotes_the_record(tmp_path):
    bad = [
        {**ui_trace_row(EMAIL), "timestamp": EMAIL},
        {**ui_trace_row("t-2"), "name": {"email": EMAIL}},
        {**ui_trace_row("t-3"), "tags": {"email": EMAIL}},
    ]
    reasons = [r.reason for r in rejects(read_all(write(tmp_path / "traces.jsonl", bad)))]
    assert len(reasons) == 3
    assert not [reason for reason in reasons if EMAIL in reason or "jane" in reason]


CHECKED_FIELDS = ["traceTimestamp", "startTime", "endTime", "level", "totalCost", "usageDetails", "name"]


@settings(max_examples=60, deadline=None)
@given(
    field=st.sampled_from(CHECKED_FIELDS),
    secret=st.text(min_size=1).map(lambda text: "SECRET-" + text),
)
def test_whatever_a_bad_field_holds_the_reason_never_contains_it(field, secret):
    row = {**ui_observation_row("o-1", "t-1"), field: secret if field != "name" else {"x": secret}}
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "observations.jsonl", [row])
        reasons = [item.reason for item in iter_file(path) if isinstance(item, Rejected)]
    assert len(reasons) == 1
    assert "SECRET-" not in reasons[0]


# --- unknown input ------------------------------------------------------------------------


def test_a_file_that_is_no_langfuse_export_raises_invalid_input_naming_the_formats(tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("just some notes\n")
    with pytest.raises(InvalidInput) as error:
        iter_file(text_file)
    assert "notes.txt" in str(error.value) and "parquet" in str(error.value)
    other_json = write(tmp_path / "people.jsonl", [{"name": "x", "age": 3}])
    with pytest.raises(InvalidInput, match="does not look like a Langfuse export"):
        iter_file(other_json)
    with pytest.raises(NotFound):
        iter_file(tmp_path / "missing.jsonl")


def test_json_content_is_recognised_without_a_known_extension(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(json.dumps([ui_trace_row("t-1")]))
    assert isinstance(next(iter_file(path)), TraceRecord)


# --- streaming ------------------------------------------------------------------------------


def big_rows(count: int) -> list[dict[str, Any]]:
    row = BLOB_ROWS["traces"][0]
    return [{**row, "id": f"t-{i}", "input": json.dumps({"q": "x" * 400, "n": i})} for i in range(count)]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_large_file_is_streamed_with_memory_far_below_its_size(tmp_path, suffix):
    path = write(tmp_path / f"traces{suffix}", big_rows(20_000))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for item in iter_file(path) if isinstance(item, TraceRecord))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < size / 20, (peak, size)


def test_a_json_item_larger_than_the_read_chunk_is_decoded_whole(tmp_path):
    huge = "y" * 300_000
    items = list(
        iter_file(write(tmp_path / "traces.json", [ui_trace_row("t-1", output=huge), ui_trace_row("t-2")]))
    )
    assert [t.output for t in of_type(items, TraceRecord)] == [huge, "Click 'Forgot password'."]
