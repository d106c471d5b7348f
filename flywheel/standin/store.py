"""The stand-in's in-memory project: traces, observations, scores and score configs.

Two views of the same data, as a Langfuse server in migration has:

* the **v3 view** (traces table + observations table) serves the legacy endpoints and
  keeps every bundle as it was loaded;
* the **v4 view** (events table) serves ``/v2/observations``. v4 has no separate trace
  row: a trace *is* its root observation, which carries the trace's name, user, session,
  tags, release and I/O. ``bundles.events_for`` explains how a trace becomes that root.

I/O and metadata are held as the raw text ClickHouse stores (see ``wire.raw_text``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

PROJECT_ID = "standin-project"


@dataclass(frozen=True)
class StoredTrace:
    id: str
    timestamp: datetime
    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    release: str | None = None
    version: str | None = None
    environment: str = "default"
    tags: tuple[str, ...] = ()
    public: bool = False
    bookmarked: bool = False
    input: str | None = None
    output: str | None = None
    metadata: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StoredObservation:
    id: str
    trace_id: str
    start_time: datetime
    type: str = "SPAN"
    name: str | None = None
    parent_id: str | None = None
    end_time: datetime | None = None
    completion_start_time: datetime | None = None
    level: str = "DEFAULT"
    status_message: str | None = None
    version: str | None = None
    environment: str = "default"
    input: str | None = None
    output: str | None = None
    metadata: str | None = None
    model: str | None = None
    internal_model_id: str | None = None
    model_parameters: Any = None
    usage_details: dict[str, int] = field(default_factory=dict)
    cost_details: dict[str, float] = field(default_factory=dict)
    total_cost: float | None = None
    usage_pricing_tier_name: str | None = None
    prompt_id: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_root: bool = False  # meaningful in the v4 view only


@dataclass(frozen=True)
class StoredScore:
    id: str
    name: str
    timestamp: datetime
    data_type: str = "NUMERIC"
    value: float | None = None
    string_value: str | None = None
    source: str = "API"
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_run_id: str | None = None
    comment: str | None = None
    metadata: Any = None
    config_id: str | None = None
    queue_id: str | None = None
    author_user_id: str | None = None
    environment: str = "default"
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StoredScoreConfig:
    id: str
    name: str
    data_type: str
    created_at: datetime
    updated_at: datetime
    is_archived: bool = False
    min_value: float | None = None
    max_value: float | None = None
    categories: tuple[tuple[float, str], ...] = ()  # (value, label)
    description: str | None = None


class Store:
    """Thread-safe tables; every read returns a snapshot list the caller may keep."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traces: dict[str, StoredTrace] = {}
        self._observations: dict[str, StoredObservation] = {}
        self._events: dict[str, StoredObservation] = {}
        self._scores: dict[str, StoredScore] = {}
        self._written: list[str] = []
        self._configs: dict[str, StoredScoreConfig] = {}

    # -- writes -------------------------------------------------------------------------
    def add_trace(
        self,
        trace: StoredTrace,
        observations: list[StoredObservation],
        events: list[StoredObservation],
        scores: list[StoredScore],
    ) -> None:
        """Store one trace in both views (``bundles.load_bundle`` builds the arguments)."""
        with self._lock:
            self._drop_trace(trace.id)
            self._traces[trace.id] = trace
            for obs in observations:
                self._observations[obs.id] = obs
            for event in events:
                self._events[event.id] = event
            for score in scores:
                self._scores[score.id] = score

    def add_score(self, score: StoredScore) -> None:
        with self._lock:
            self._scores[score.id] = score

    def upsert_written_score(self, score: StoredScore) -> None:
        """POST /scores: the same id updates the score in place (keeping createdAt)."""
        with self._lock:
            previous = self._scores.get(score.id)
            if previous is not None:
                score = replace(score, created_at=previous.created_at)
            self._scores[score.id] = score
            if score.id not in self._written:
                self._written.append(score.id)

    def delete_score(self, score_id: str) -> bool:
        """DELETE /scores/{id}: False when there is no such score."""
        with self._lock:
            if self._scores.pop(score_id, None) is None:
                return False
            if score_id in self._written:
                self._written.remove(score_id)
            return True

    def add_config(self, config: StoredScoreConfig) -> None:
        with self._lock:
            self._configs[config.id] = config

    def _drop_trace(self, trace_id: str) -> None:
        # Re-loading a bundle replaces it, the way re-ingesting an id upserts.
        for table in (self._observations, self._events):
            for obs_id in [k for k, v in table.items() if v.trace_id == trace_id]:
                del table[obs_id]

    # -- reads --------------------------------------------------------------------------
    def traces(self) -> list[StoredTrace]:
        with self._lock:
            return list(self._traces.values())

    def trace(self, trace_id: str) -> StoredTrace | None:
        with self._lock:
            return self._traces.get(trace_id)

    def observations(self) -> list[StoredObservation]:
        with self._lock:
            return list(self._observations.values())

    def events(self) -> list[StoredObservation]:
        with self._lock:
            return list(self._events.values())

    def scores(self) -> list[StoredScore]:
        with self._lock:
            return list(self._scores.values())

    def written_scores(self) -> list[StoredScore]:
        with self._lock:
            return [self._scores[i] for i in self._written if i in self._scores]

    def configs(self) -> list[StoredScoreConfig]:
        with self._lock:
            return list(self._configs.values())

    def config(self, config_id: str) -> StoredScoreConfig | None:
        with self._lock:
            return self._configs.get(config_id)


def latency_seconds(start: datetime | None, end: datetime | None) -> float | None:
    """The server computes latency from the timestamps, never from a stored value."""
    if start is None or end is None:
        return None
    return (end - start) / timedelta(seconds=1)
