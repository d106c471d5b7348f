"""Which Langfuse export a file is, from its columns (and its blob key path as a hint)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from flywheel.ingest.files.values import snake_case


class Table(StrEnum):
    UI_TRACES = "UI export of traces"
    UI_OBSERVATIONS = "UI export of observations"
    DOWNLOAD = "download-trace JSON"
    TRACES = "blob export of traces"
    OBSERVATIONS = "blob export of observations"
    OBSERVATIONS_V2 = "blob export of observations_v2"
    SCORES = "export of scores"


KIND = {
    Table.UI_TRACES: "trace",
    Table.DOWNLOAD: "trace",
    Table.TRACES: "trace",
    Table.UI_OBSERVATIONS: "observation",
    Table.OBSERVATIONS: "observation",
    Table.OBSERVATIONS_V2: "observation",
    Table.SCORES: "score",
}
# Traces first, so observations and scores find their trace when files come together.
LOAD_ORDER = {"trace": 0, "observation": 1, "score": 2}

_OBSERVATION_MARKERS = frozenset({"start_time", "end_time", "parent_observation_id", "type"})
_SCORE_MARKERS = frozenset({"value", "string_value", "data_type"})
# The legacy observations table has no trace context; the events table (v2) has.
_V2_MARKERS = frozenset({"is_root_observation", "trace_name", "user_id", "session_id"})
_BLOB_TABLES = ("observations_v2", "observations", "traces", "scores")


def detect_table(keys: Iterable[str], path: Path) -> Table | None:
    """The export a row with these keys comes from, or None if it is none we know."""
    original = list(keys)
    names = {snake_case(key) for key in original}
    camel = any(key != snake_case(key) for key in original)
    hint = blob_table_hint(path)
    if "trace" in names:
        return Table.DOWNLOAD
    if "trace_id" in names and names & _OBSERVATION_MARKERS:
        if camel:
            return Table.UI_OBSERVATIONS
        if hint == "observations_v2" or (hint != "observations" and names & _V2_MARKERS):
            return Table.OBSERVATIONS_V2
        return Table.OBSERVATIONS
    if "trace_id" in names and "name" in names and names & _SCORE_MARKERS:
        return Table.SCORES
    if {"id", "timestamp"} <= names and "trace_id" not in names:
        return Table.UI_TRACES if camel else Table.TRACES
    return None


def blob_table_hint(path: Path) -> str | None:
    """``traces`` for ``.../{projectId}/traces/2025-01-01T00-00-00.jsonl.gz``, etc."""
    for part in reversed(path.parent.parts):
        if part in _BLOB_TABLES:
            return part
    return None
