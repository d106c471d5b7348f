"""Labels and cluster memberships as Langfuse ``CreateScoreRequest`` bodies, with deterministic ids.

Which scores a trace gets (``P`` is the configured prefix, ``flywheel.`` by default):

=====================  ===========  =========================================================
name                   data type    value
=====================  ===========  =========================================================
``P verdict``          CATEGORICAL  the label's verdict, e.g. ``bad``
``P sample_type``      CATEGORICAL  golden | negative | boundary | generic
``P must_refuse``      BOOLEAN      1 or 0
``P error_type``       CATEGORICAL  one score per error type (so Langfuse counts each type)
``output``             CORRECTION   the corrected answer, when it differs from the model's
``P cluster``          CATEGORICAL  ``C12 refund · broken``, for every clustered failure
=====================  ===========  =========================================================

Ids are uuid5 of (project, source, trace id, name[, value]): the same label always maps to the
same id, so a re-run upserts; a changed label (a new decision) keeps the id of single-valued
scores and overwrites them in place. Per-value scores (error types) carry the value in the id;
one that no longer applies is retracted by the service (the ledger knows what was written).
The score ``timestamp`` is the trace's, fixed for good: Langfuse updates a score only when the
id and the timestamp both match (SDK 5 ``CreateScoreRequest.timestamp``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flywheel.writeback.records import (
    ClusterRecord,
    LabelRecord,
    ScorePayload,
    TraceRef,
    WritebackConfig,
)

# Never change: every score id ever written derives from it.
NAMESPACE = uuid.UUID("6f1c8e2a-5b7d-5c3e-9a41-0d2f7b9c4e18")
CORRECTION_NAME = "output"  # Langfuse names every CORRECTION score "output" (spec: ScoreBody.name)
VERDICT, SAMPLE_TYPE, MUST_REFUSE, ERROR_TYPE, CLUSTER = (
    "verdict",
    "sample_type",
    "must_refuse",
    "error_type",
    "cluster",
)
ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]{1,40}$")  # what the server accepts
TRUNCATED = (
    "\n\n[Truncated by Flywheel: the first {shown} of {total} characters. "
    "The full corrected answer is item {item} of the reviewed set.]"
)
LABEL_METADATA_FROM_LINEAGE = ("task_type", "difficulty", "domain")


def score_id(trace: TraceRef, name: str, value: str | None = None) -> str:
    parts = [trace.project, trace.source, trace.trace_id, name] + ([value] if value is not None else [])
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def canonical_json(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def payload_sha256(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def label_scores(record: LabelRecord, config: WritebackConfig) -> list[ScorePayload]:
    """The scores of one final label, in a fixed order. Fields the label lacks give no score."""
    p = config.prefix
    values = record.values
    comment = label_comment(record)
    metadata = label_metadata(record)
    scores: list[ScorePayload] = []
    for field, data_type in ((VERDICT, "CATEGORICAL"), (SAMPLE_TYPE, "CATEGORICAL")):
        value = _text(values.get(field) if field in values else record.lineage.get(field))
        if value:
            scores.append(_payload(record.trace, p + field, value, data_type, comment, metadata))
    refuse = values.get(MUST_REFUSE)
    if isinstance(refuse, bool):
        scores.append(_payload(record.trace, p + MUST_REFUSE, int(refuse), "BOOLEAN", comment, metadata))
    for error in error_types(values.get("error_types")):
        name = p + ERROR_TYPE
        scores.append(_payload(record.trace, name, error, "CATEGORICAL", comment, metadata, id_value=error))
    if record.correction and record.correction.strip():
        scores.append(correction_score(record, config, comment, metadata))
    return scores


def correction_score(
    record: LabelRecord, config: WritebackConfig, comment: str, metadata: Mapping[str, Any]
) -> ScorePayload:
    """The corrected answer as Langfuse's corrected output of the labeled generation.

    CORRECTION has no length limit in the spec (TEXT stops at 500), so the answer goes whole up
    to ``correction_max_chars``; beyond that it is cut with a marker that says so, and the
    metadata and the comment say so too. Nothing is dropped silently.
    """
    text, cut = truncate(record.correction or "", config.correction_max_chars, record.item_key)
    extra = {"correction_chars": len(record.correction or ""), "correction_truncated": cut}
    note = f"{comment} · corrected answer truncated" if cut else comment
    return _payload(
        record.trace,
        CORRECTION_NAME,
        text,
        "CORRECTION",
        note,
        {**metadata, **extra},
        observation_id=record.observation_id,
    )


def cluster_score(record: ClusterRecord, config: WritebackConfig) -> ScorePayload:
    number = f"C{record.number}"
    value = f"{number} {record.label}".strip()
    how = {"full": "full run", "incremental": "assigned incrementally"}.get(record.assigned_by, "clustered")
    comment = f"Flywheel cluster {number} ({how}{', near-duplicate of a member' if record.duplicate else ''})"
    metadata = {
        "writer": "flywheel",
        "project": record.trace.project,
        "source": record.trace.source,
        "cluster": number,
        "cluster_name": record.label,
        "rules": sorted(record.rules),
        "assigned_by": record.assigned_by,
        "duplicate": record.duplicate,
    }
    return _payload(record.trace, config.prefix + CLUSTER, value, "CATEGORICAL", comment, metadata)


def label_comment(record: LabelRecord) -> str:
    sop = f"SOP v{record.sop_version}" if record.sop_version is not None else "SOP version unknown"
    if record.reviewer:
        who = f"reviewer {record.reviewer} ({record.decision or 'decided'})"
    elif record.annotators:
        who = f"consensus of {', '.join(record.annotators)}"
    else:
        who = "no reviewer"
    return f"Flywheel label · {sop} · {who}"


def label_metadata(record: LabelRecord) -> dict[str, Any]:
    """Lineage of the label: where it came from and who decided it (ids and usernames, no content)."""
    data: dict[str, Any] = {
        "writer": "flywheel",
        "project": record.trace.project,
        "source": record.trace.source,
        "item_key": record.item_key,
        "sop_version": record.sop_version,
        "decision": record.decision,
        "reviewer": record.reviewer,
        "annotators": list(record.annotators),
        "round": record.round,
        "decided_at": _iso(record.decided_at) if record.decided_at else None,
        "observation_id": record.observation_id,
        "cluster": record.cluster,
    }
    for key in LABEL_METADATA_FROM_LINEAGE:
        value = record.values.get(key, record.lineage.get(key))
        if isinstance(value, str | int | float | bool):
            data[key] = value
    return {k: v for k, v in data.items() if v is not None}


def error_types(raw: Any) -> list[str]:
    """Distinct, sorted error types of a label (a multi-choice list; anything else gives none)."""
    if not isinstance(raw, list | tuple):
        return []
    return sorted({item.strip() for item in raw if isinstance(item, str) and item.strip()})


def truncate(text: str, limit: int, item_key: str) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters, the marker included; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    # The marker with ``limit`` in it is at least as long as with the final, smaller count.
    shown = max(0, limit - len(TRUNCATED.format(shown=limit, total=len(text), item=item_key)))
    return text[:shown] + TRUNCATED.format(shown=shown, total=len(text), item=item_key), True


def _payload(
    trace: TraceRef,
    name: str,
    value: str | int,
    data_type: str,
    comment: str,
    metadata: Mapping[str, Any],
    *,
    observation_id: str | None = None,
    id_value: str | None = None,
) -> ScorePayload:
    sid = score_id(trace, name, id_value)
    body: dict[str, Any] = {
        "id": sid,
        "traceId": trace.trace_id,
        "name": name,
        "value": value,
        "dataType": data_type,
        "comment": comment,
        "metadata": dict(metadata),
        "source": "API",
        "timestamp": _iso(trace.timestamp),
    }
    if observation_id:
        body["observationId"] = observation_id
    if ENVIRONMENT.match(trace.environment or ""):
        body["environment"] = trace.environment
    text = canonical_json(body)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ScorePayload(sid, name, trace.trace_id, body, digest, len(text.encode("utf-8")))


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _iso(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
