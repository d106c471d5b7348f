"""Stored rows to the JSON objects each endpoint returns, shaped after openapi.yml."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from flywheel.standin.store import (
    PROJECT_ID,
    StoredObservation,
    StoredScore,
    StoredScoreConfig,
    StoredTrace,
    latency_seconds,
)
from flywheel.standin.wire import format_time, parse_json_prioritised

V2_FIELD_GROUPS = (
    "core",
    "basic",
    "time",
    "io",
    "metadata",
    "model",
    "usage",
    "prompt",
    "metrics",
    "trace_context",
)
V3_SCORE_FIELD_GROUPS = ("details", "subject", "annotation")
METADATA_VALUE_LIMIT = 200  # the events table keeps a truncated copy of each metadata value

DEPRECATION = {
    "message": (
        "This endpoint is deprecated: Langfuse v4 serves span and trace data from "
        "GET /api/public/v2/observations and scores from GET /api/public/v3/scores."
    ),
    "replacement": "GET /api/public/v2/observations",
    "docsUrl": "https://langfuse.com/self-hosting/upgrade/upgrade-guides/upgrade-v3-to-v4",
    "sunsetAt": "2026-11-16",
}


def v2_observation(
    obs: StoredObservation,
    trace: StoredTrace | None,
    groups: Collection[str],
    *,
    metadata_as_string: bool = False,
    expand_metadata: Collection[str] = (),
) -> dict[str, Any]:
    """One ``ObservationV2``: core always, other groups on request; I/O as raw text."""
    row: dict[str, Any] = {
        "id": obs.id,
        "traceId": obs.trace_id,
        "startTime": format_time(obs.start_time),
        "endTime": format_time(obs.end_time),
        "projectId": PROJECT_ID,
        "parentObservationId": obs.parent_id,
        "type": obs.type,
        # Always present; null unless the `model` group is requested.
        "modelId": None,
        "inputPrice": None,
        "outputPrice": None,
        "totalPrice": None,
    }
    if "basic" in groups:
        row.update(
            name=obs.name,
            level=obs.level,
            statusMessage=obs.status_message,
            version=obs.version,
            environment=obs.environment,
            bookmarked=bool(trace and trace.bookmarked and obs.is_root),
            public=bool(trace and trace.public),
            # v4 propagates these trace attributes onto every span of the trace.
            userId=trace.user_id if trace else None,
            sessionId=trace.session_id if trace else None,
            isRootObservation=obs.is_root,
        )
    if "time" in groups:
        row.update(
            completionStartTime=format_time(obs.completion_start_time),
            createdAt=format_time(obs.created_at),
            updatedAt=format_time(obs.updated_at),
        )
    if "io" in groups:
        row.update(input=obs.input, output=obs.output)
    if "metadata" in groups:
        row["metadata"] = obs.metadata if metadata_as_string else v2_metadata(obs.metadata, expand_metadata)
    if "model" in groups:
        row.update(
            providedModelName=obs.model,
            internalModelId=obs.internal_model_id,
            modelParameters=obs.model_parameters,
            modelId=obs.internal_model_id,
        )
    if "usage" in groups:
        row.update(
            usageDetails=dict(obs.usage_details),
            costDetails=dict(obs.cost_details),
            totalCost=obs.total_cost,
            usagePricingTierName=obs.usage_pricing_tier_name,
        )
    if "prompt" in groups:
        row.update(promptId=obs.prompt_id, promptName=obs.prompt_name, promptVersion=obs.prompt_version)
    if "metrics" in groups:
        row.update(
            latency=latency_seconds(obs.start_time, obs.end_time),
            timeToFirstToken=latency_seconds(obs.start_time, obs.completion_start_time),
        )
    if "trace_context" in groups:
        row.update(
            tags=list(trace.tags) if trace else [],
            release=trace.release if trace else None,
            traceName=trace.name if trace else None,
        )
    return row


def v2_metadata(text: str | None, expand: Collection[str]) -> dict[str, Any]:
    """Metadata as the events table serves it: an object whose long values are cut.

    ClickHouse keeps metadata as a string map; a value whose text exceeds 200 characters
    comes back truncated (and so no longer parses) unless its key is in ``expandMetadata``.
    """
    parsed = parse_json_prioritised(text)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        parsed = {"metadata": parsed}
    out: dict[str, Any] = {}
    for key, value in parsed.items():
        stored = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        too_long = len(stored) > METADATA_VALUE_LIMIT and key not in expand
        out[key] = stored[:METADATA_VALUE_LIMIT] if too_long else value
    return out


def legacy_observation(obs: StoredObservation) -> dict[str, Any]:
    """One v1 ``ObservationsView``: everything, I/O parsed where it parses."""
    usage = obs.usage_details
    return {
        "id": obs.id,
        "projectId": PROJECT_ID,
        "traceId": obs.trace_id,
        "parentObservationId": obs.parent_id,
        "type": obs.type,
        "name": obs.name,
        "environment": obs.environment,
        "startTime": format_time(obs.start_time),
        "endTime": format_time(obs.end_time),
        "completionStartTime": format_time(obs.completion_start_time),
        "level": obs.level,
        "statusMessage": obs.status_message,
        "version": obs.version,
        "input": parse_json_prioritised(obs.input),
        "output": parse_json_prioritised(obs.output),
        "metadata": parse_json_prioritised(obs.metadata) or {},
        "model": obs.model,
        "modelParameters": obs.model_parameters,
        "promptId": obs.prompt_id,
        "promptName": obs.prompt_name,
        "promptVersion": obs.prompt_version,
        "usageDetails": dict(usage),
        "costDetails": dict(obs.cost_details),
        "usage": {
            "input": usage.get("input", 0),
            "output": usage.get("output", 0),
            "total": usage.get("total", 0),
            "unit": None,
        },
        "unit": None,
        "promptTokens": usage.get("input", 0),
        "completionTokens": usage.get("output", 0),
        "totalTokens": usage.get("total", 0),
        "modelId": obs.internal_model_id,
        "inputPrice": None,
        "outputPrice": None,
        "totalPrice": None,
        "calculatedInputCost": obs.cost_details.get("input"),
        "calculatedOutputCost": obs.cost_details.get("output"),
        "calculatedTotalCost": obs.total_cost,
        "usagePricingTierName": obs.usage_pricing_tier_name,
        "latency": latency_seconds(obs.start_time, obs.end_time),
        "timeToFirstToken": latency_seconds(obs.start_time, obs.completion_start_time),
        "createdAt": format_time(obs.created_at),
        "updatedAt": format_time(obs.updated_at),
    }


def legacy_trace(
    trace: StoredTrace, observations: Iterable[StoredObservation], *, io: bool = True
) -> dict[str, Any]:
    """The ``Trace`` fields plus ``htmlPath``, ``latency`` and ``totalCost``."""
    observations = list(observations)
    starts = [o.start_time for o in observations] + [trace.timestamp]
    ends = [o.end_time for o in observations if o.end_time]
    costs = [o.total_cost for o in observations if o.total_cost is not None]
    row: dict[str, Any] = {
        "id": trace.id,
        "projectId": PROJECT_ID,
        "timestamp": format_time(trace.timestamp),
        "name": trace.name,
        "sessionId": trace.session_id,
        "release": trace.release,
        "version": trace.version,
        "userId": trace.user_id,
        "tags": list(trace.tags),
        "public": trace.public,
        "bookmarked": trace.bookmarked,
        "environment": trace.environment,
        "createdAt": format_time(trace.created_at),
        "updatedAt": format_time(trace.updated_at),
        "htmlPath": f"/project/{PROJECT_ID}/traces/{trace.id}",
        "latency": latency_seconds(min(starts), max(ends)) if ends else 0.0,
        "totalCost": sum(costs),
    }
    if io:
        row.update(
            input=parse_json_prioritised(trace.input),
            output=parse_json_prioritised(trace.output),
            metadata=parse_json_prioritised(trace.metadata),
        )
    return row


def legacy_score(score: StoredScore) -> dict[str, Any]:
    """A ``ScoreV1``: numeric ``value`` and/or ``stringValue`` by data type."""
    row: dict[str, Any] = {
        "id": score.id,
        "projectId": PROJECT_ID,
        "traceId": score.trace_id,
        "observationId": score.observation_id,
        "sessionId": score.session_id,
        "datasetRunId": score.dataset_run_id,
        "name": score.name,
        "source": score.source,
        "dataType": score.data_type,
        "timestamp": format_time(score.timestamp),
        "createdAt": format_time(score.created_at),
        "updatedAt": format_time(score.updated_at),
        "authorUserId": score.author_user_id,
        "comment": score.comment,
        "metadata": _metadata_object(score.metadata),
        "configId": score.config_id,
        "queueId": score.queue_id,
        "environment": score.environment,
    }
    if score.data_type in ("NUMERIC", "BOOLEAN", "CATEGORICAL"):
        row["value"] = score.value if score.value is not None else 0
    if score.data_type != "NUMERIC":
        row["stringValue"] = score.string_value or ""
    return row


def v3_score(score: StoredScore, groups: Collection[str]) -> dict[str, Any]:
    """A ``ScoreV3``: ``value`` is a number, a bool or a string by ``dataType``."""
    value: Any
    if score.data_type == "NUMERIC":
        value = score.value if score.value is not None else 0
    elif score.data_type == "BOOLEAN":
        value = score.value == 1
    else:
        value = score.string_value or ""
    row: dict[str, Any] = {
        "id": score.id,
        "projectId": PROJECT_ID,
        "name": score.name,
        "value": value,
        "dataType": score.data_type,
        "source": score.source,
        "timestamp": format_time(score.timestamp),
        "environment": score.environment,
        "createdAt": format_time(score.created_at),
        "updatedAt": format_time(score.updated_at),
    }
    if "details" in groups:
        row.update(comment=score.comment, configId=score.config_id, metadata=_metadata_object(score.metadata))
    if "subject" in groups:
        row["subject"] = score_subject(score)
    if "annotation" in groups:
        row.update(authorUserId=score.author_user_id, queueId=score.queue_id)
    return row


def score_subject(score: StoredScore) -> dict[str, Any] | None:
    if score.observation_id:
        return {"kind": "observation", "id": score.observation_id, "traceId": score.trace_id}
    if score.trace_id:
        return {"kind": "trace", "id": score.trace_id}
    if score.session_id:
        return {"kind": "session", "id": score.session_id}
    if score.dataset_run_id:
        return {"kind": "experiment", "id": score.dataset_run_id}
    return None


def score_config(config: StoredScoreConfig) -> dict[str, Any]:
    return {
        "id": config.id,
        "name": config.name,
        "projectId": PROJECT_ID,
        "dataType": config.data_type,
        "isArchived": config.is_archived,
        "minValue": config.min_value,
        "maxValue": config.max_value,
        "categories": [{"value": v, "label": label} for v, label in config.categories] or None,
        "description": config.description,
        "createdAt": format_time(config.created_at),
        "updatedAt": format_time(config.updated_at),
    }


def _metadata_object(value: Any) -> dict[str, Any] | None:
    parsed = parse_json_prioritised(value) if isinstance(value, str) else value
    if parsed is None or isinstance(parsed, dict):
        return parsed
    return {"metadata": parsed}
