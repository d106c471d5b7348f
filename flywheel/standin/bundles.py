"""Download-trace bundles (camelCase dicts) into stored rows, and the v4 view of a trace."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flywheel.standin.store import Store, StoredObservation, StoredScore, StoredTrace
from flywheel.standin.wire import parse_optional_time, parse_time, raw_text


def load_bundle(store: Store, bundle: Mapping[str, Any]) -> str:
    """Load a UI "download trace" file ``{"trace": {...}, "observations": [...]}``."""
    raw_trace = bundle.get("trace")
    if not isinstance(raw_trace, Mapping):
        raise ValueError("a trace bundle needs a 'trace' object")
    trace = trace_from_dict(raw_trace)
    raw_observations = bundle.get("observations") or raw_trace.get("observations") or []
    observations = [observation_from_dict(o, trace) for o in raw_observations]
    scores = [score_from_dict({"traceId": trace.id, **s}) for s in raw_trace.get("scores") or []]
    store.add_trace(trace, observations, events_for(trace, observations), scores)
    return trace.id


def events_for(trace: StoredTrace, observations: list[StoredObservation]) -> list[StoredObservation]:
    """The v4 rows of one trace.

    A bundle with exactly one parentless observation (every OTel-era SDK trace) keeps it
    as the root; the root takes the trace's I/O, metadata and version wherever its own are
    empty, because v3-era SDKs wrote trace I/O on the trace, not on the root span. Any
    other shape (legacy SDK traces with several or no parentless observations) gets a
    synthetic root SPAN ``t-<traceId>`` holding the trace's own data, and the orphans are
    re-parented to it, so there is always exactly one root per trace.
    """
    orphans = [o for o in observations if not o.parent_id]
    if len(orphans) == 1:
        root = orphans[0]
        adopted = replace(
            root,
            is_root=True,
            input=root.input if root.input is not None else trace.input,
            output=root.output if root.output is not None else trace.output,
            metadata=root.metadata if root.metadata not in (None, "{}") else trace.metadata,
            version=root.version or trace.version,
        )
        return [adopted if o is root else o for o in observations]
    root_id = f"t-{trace.id}"
    ends = [o.end_time for o in observations if o.end_time]
    root = StoredObservation(
        id=root_id,
        trace_id=trace.id,
        start_time=trace.timestamp,
        end_time=max(ends) if ends else trace.timestamp,
        type="SPAN",
        name=trace.name,
        version=trace.version,
        environment=trace.environment,
        input=trace.input,
        output=trace.output,
        metadata=trace.metadata,
        created_at=trace.created_at,
        updated_at=trace.updated_at,
        is_root=True,
    )
    return [root, *(replace(o, parent_id=root_id) if not o.parent_id else o for o in observations)]


def trace_from_dict(raw: Mapping[str, Any]) -> StoredTrace:
    trace_id = _required_str(raw, "id", "trace")
    timestamp = parse_time(raw.get("timestamp"), field="trace.timestamp")
    return StoredTrace(
        id=trace_id,
        timestamp=timestamp,
        name=raw.get("name"),
        user_id=raw.get("userId"),
        session_id=raw.get("sessionId"),
        release=raw.get("release"),
        version=raw.get("version"),
        environment=raw.get("environment") or "default",
        tags=tuple(t for t in raw.get("tags") or () if isinstance(t, str)),
        public=bool(raw.get("public")),
        bookmarked=bool(raw.get("bookmarked")),
        input=raw_text(raw.get("input")),
        output=raw_text(raw.get("output")),
        metadata=raw_text(raw.get("metadata")),
        created_at=parse_optional_time(raw.get("createdAt"), field="trace.createdAt") or timestamp,
        updated_at=parse_optional_time(raw.get("updatedAt"), field="trace.updatedAt") or timestamp,
    )


def observation_from_dict(raw: Mapping[str, Any], trace: StoredTrace) -> StoredObservation:
    obs_id = _required_str(raw, "id", "observation")
    start = parse_time(raw.get("startTime"), field="observation.startTime")
    prompt_version = raw.get("promptVersion")
    return StoredObservation(
        id=obs_id,
        trace_id=raw.get("traceId") or trace.id,
        start_time=start,
        type=raw.get("type") or "SPAN",
        name=raw.get("name"),
        parent_id=raw.get("parentObservationId") or None,
        end_time=parse_optional_time(raw.get("endTime"), field="observation.endTime"),
        completion_start_time=parse_optional_time(
            raw.get("completionStartTime"), field="observation.completionStartTime"
        ),
        level=raw.get("level") or "DEFAULT",
        status_message=raw.get("statusMessage"),
        version=raw.get("version"),
        environment=raw.get("environment") or trace.environment,
        input=raw_text(raw.get("input")),
        output=raw_text(raw.get("output")),
        metadata=raw_text(raw.get("metadata")),
        model=raw.get("model") or raw.get("providedModelName"),
        internal_model_id=raw.get("internalModelId"),
        model_parameters=raw.get("modelParameters"),
        usage_details={k: int(v) for k, v in (raw.get("usageDetails") or {}).items()},
        cost_details={k: float(v) for k, v in (raw.get("costDetails") or {}).items()},
        total_cost=_optional_float(raw.get("totalCost")),
        usage_pricing_tier_name=raw.get("usagePricingTierName"),
        prompt_id=raw.get("promptId"),
        prompt_name=raw.get("promptName"),
        prompt_version=int(prompt_version) if prompt_version is not None else None,
        created_at=parse_optional_time(raw.get("createdAt"), field="observation.createdAt") or start,
        updated_at=parse_optional_time(raw.get("updatedAt"), field="observation.updatedAt") or start,
    )


def score_from_dict(raw: Mapping[str, Any]) -> StoredScore:
    """A score as the v1/v2 APIs spell it (``value`` plus ``stringValue``)."""
    now = datetime.now(UTC)
    timestamp = parse_optional_time(raw.get("timestamp"), field="score.timestamp") or now
    data_type = raw.get("dataType") or "NUMERIC"
    value = raw.get("value")
    string_value = raw.get("stringValue")
    if data_type == "BOOLEAN" and string_value is None and value is not None:
        string_value = "True" if float(value) == 1 else "False"
    return StoredScore(
        id=raw.get("id") or str(uuid.uuid4()),
        name=_required_str(raw, "name", "score"),
        timestamp=timestamp,
        data_type=data_type,
        value=_optional_float(value),
        string_value=string_value,
        source=raw.get("source") or "API",
        trace_id=raw.get("traceId"),
        observation_id=raw.get("observationId"),
        session_id=raw.get("sessionId"),
        dataset_run_id=raw.get("datasetRunId"),
        comment=raw.get("comment"),
        metadata=raw.get("metadata"),
        config_id=raw.get("configId"),
        queue_id=raw.get("queueId"),
        author_user_id=raw.get("authorUserId"),
        environment=raw.get("environment") or "default",
        created_at=parse_optional_time(raw.get("createdAt"), field="score.createdAt") or timestamp,
        updated_at=parse_optional_time(raw.get("updatedAt"), field="score.updatedAt") or timestamp,
    )


def _required_str(raw: Mapping[str, Any], key: str, kind: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"a {kind} needs a non-empty string '{key}'")
    return value


def _optional_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
