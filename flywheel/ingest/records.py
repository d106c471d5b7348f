"""Typed records that cross the ingestion boundary.

Every trace source (the Langfuse API, export files) turns what it reads into these
records; the ingest service scrubs and stores them. They hold *raw* values, so they must
never be logged, put in an exception message or written anywhere before scrubbing.

JSON-ish fields (``input``, ``output``, ``metadata``) hold parsed JSON where the source
gave JSON (or a JSON string that parses), otherwise the plain string, or ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OBSERVATION_LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")


@dataclass(frozen=True)
class TraceRecord:
    """A trace's own fields. ``id`` is the Langfuse trace id.

    ``partial`` marks a record that knows only some of the trace (e.g. the trace context an
    observation export carries): the store fills empty fields from it, never blanks others.
    """

    id: str
    timestamp: datetime | None = None
    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    tags: tuple[str, ...] = ()
    release: str | None = None
    version: str | None = None
    environment: str | None = None
    input: Any = None
    output: Any = None
    metadata: Any = None
    updated_at: datetime | None = None
    partial: bool = False


@dataclass(frozen=True)
class ObservationRecord:
    """One observation (span, generation, event, tool call, ...) of a trace."""

    id: str
    trace_id: str
    type: str = "SPAN"
    name: str | None = None
    parent_id: str | None = None
    level: str = "DEFAULT"
    status_message: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    model: str | None = None
    input: Any = None
    output: Any = None
    metadata: Any = None
    usage: dict[str, float] = field(default_factory=dict)
    total_cost: float | None = None
    latency_ms: float | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ScoreRecord:
    """A score attached to a trace (and optionally one of its observations)."""

    id: str
    trace_id: str
    name: str
    observation_id: str | None = None
    value: float | None = None
    string_value: str | None = None
    data_type: str = "NUMERIC"
    source: str = "API"
    comment: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Rejected:
    """A record a source could not turn into one of the above.

    ``reason`` names what was wrong (a field, a type, a parse error's position) and must
    not quote the record's content. ``location`` says where it was (``file.jsonl:12``,
    ``v2/observations page 3``).
    """

    kind: str  # "trace" | "observation" | "score" | "unknown"
    reason: str
    location: str
    external_id: str | None = None
    trace_id: str | None = None


Record = TraceRecord | ObservationRecord | ScoreRecord
SourceItem = TraceRecord | ObservationRecord | ScoreRecord | Rejected
