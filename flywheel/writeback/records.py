"""Plain records of the write-back: what a label or a cluster membership is, and the score sent for it.

The service fills ``LabelRecord`` and ``ClusterRecord`` from the ORM; everything downstream
(payloads, ids, hashes, the diff against the ledger, the HTTP client) sees only these.
Every text in them comes from stored, scrubbed data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flywheel.errors import ConfigError

DEFAULT_PREFIX = "flywheel."
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.:/-]{0,40}$")
BAD_PREFIX = "The score name prefix '{prefix}' is not usable."
BAD_PREFIX_HINT = "Use up to 40 letters, digits or . _ : / - (default 'flywheel.')."


@dataclass(frozen=True)
class WritebackConfig:
    """How labels become scores. Changing ``prefix`` renames every score: the next run writes the
    new names and retracts the old ones it wrote (the ledger knows them)."""

    prefix: str = DEFAULT_PREFIX
    batch_size: int = 100  # scores per request; the SDK batches 15, the server takes far more
    max_batch_bytes: int = 900_000  # below the SDK's 1 MB batch and the server's 5 MB body limit
    correction_max_chars: int = 100_000  # a longer corrected answer is cut, with a marker (see docs)
    trace_chunk: int = 200  # traces read from the database per step (bounded memory)

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ConfigError(BAD_PREFIX.format(prefix=self.prefix[:60]), hint=BAD_PREFIX_HINT)
        if self.batch_size < 1 or self.max_batch_bytes < 10_000 or self.trace_chunk < 1:
            raise ConfigError("batch_size and trace_chunk must be positive, max_batch_bytes at least 10000.")
        if self.correction_max_chars < 1_000:
            raise ConfigError("correction_max_chars must be at least 1000.")


@dataclass(frozen=True)
class TraceRef:
    """The Langfuse trace a score is attached to, and what makes its score ids unique."""

    project: str  # project name
    source: str  # name of the source the trace was ingested from (part of the score id)
    trace_id: str  # the Langfuse trace id
    timestamp: datetime  # fixed per trace: Langfuse updates a score only when id *and* timestamp match
    environment: str = ""  # the trace's Langfuse environment; "" leaves the server default


@dataclass(frozen=True)
class LabelRecord:
    """A final label (a ``Sample`` of origin annotation) of one trace."""

    trace: TraceRef
    values: Mapping[str, Any]  # the label, as the SOP's schema defines it
    item_key: str
    sop_version: int | None
    decision: str  # consensus | accepted | fixed | bulk
    reviewer: str | None
    annotators: tuple[str, ...] = ()
    round: int = 1
    decided_at: datetime | None = None
    observation_id: str | None = None  # the generation that was labeled
    cluster: str | None = None  # "C12", from the lineage
    correction: str | None = None  # the golden answer when it differs from the model's, else None
    lineage: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterRecord:
    """A clustered failure of one trace."""

    trace: TraceRef
    number: int
    label: str  # the cluster's name (a lead's custom name wins)
    rules: tuple[str, ...] = ()
    assigned_by: str = ""  # full | incremental
    duplicate: bool = False  # the failure is a near-duplicate placed with its twin


@dataclass(frozen=True)
class ScorePayload:
    """One ``CreateScoreRequest`` body (camelCase, as the spec names the fields) and its identity."""

    score_id: str
    name: str
    trace_id: str
    body: Mapping[str, Any]
    sha256: str  # of the canonical JSON of ``body``: equal hashes mean nothing to re-send
    size: int  # bytes of that JSON, about what the request carries for this score
