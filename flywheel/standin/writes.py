"""The write endpoints: ``POST /scores`` (one object or an SDK v5 batch) and score configs.

Validation follows API_NOTES §3: BOOLEAN is 0 or 1, CATEGORICAL/TEXT/CORRECTION are
strings, TEXT is 1-500 characters, ``source=ANNOTATION`` needs a config, a config fixes
the name, the data type and the allowed values. A CORRECTION (a corrected output) takes no
config, is always named ``output`` (the spec's ``ScoreBody.name``: "Always overrides
'output' for correction scores") and stores the numeric value 0 (``CorrectionScore.value``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from flywheel.standin.render import score_config
from flywheel.standin.store import Store, StoredScore, StoredScoreConfig
from flywheel.standin.wire import BadRequest, parse_optional_time

SCORE_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION")
CONFIG_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT")
ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]{1,40}$")
CONFIG_NAME = re.compile(r"^[A-Za-z0-9_ .()-]{1,35}$")
CORRECTION_NAME = "output"
# What the spec's server (zod, one object per request) answers to an SDK v5 array body.
NO_BATCHES = "Invalid request data: expected object, received array"


def post_scores(body: Any, store: Store) -> tuple[int, dict[str, Any]]:
    """A single object answers 200 ``{id}``; an array answers 202, or 207 with the errors."""
    if isinstance(body, list):
        if not body:
            raise BadRequest("The score batch is empty")
        errors: list[dict[str, str]] = []
        accepted = 0
        for index, item in enumerate(body):
            try:
                store.upsert_written_score(validate_score(item, store))
                accepted += 1
            except BadRequest as exc:
                errors.append({"message": f"Score at index {index}: {exc}"})
        if not errors:
            return 202, {"message": "Accepted"}
        return 207, {"accepted": accepted, "rejected": len(errors), "errors": errors}
    score = validate_score(body, store)
    store.upsert_written_score(score)
    return 200, {"id": score.id}


def validate_score(body: Any, store: Store) -> StoredScore:
    if not isinstance(body, dict):
        raise BadRequest("A score must be a JSON object")
    name, value = body.get("name"), body.get("value")
    if not isinstance(name, str) or not name:
        raise BadRequest("name is required")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest("value must be a number or a string")
    data_type = body.get("dataType")
    if data_type is not None and data_type not in SCORE_DATA_TYPES:
        raise BadRequest(f"dataType must be one of {', '.join(SCORE_DATA_TYPES)}")
    if data_type == "CORRECTION" and body.get("configId") is not None:
        raise BadRequest("A CORRECTION score cannot reference a score config")
    config = _config_for(body.get("configId"), store)
    if data_type == "CORRECTION":
        name = CORRECTION_NAME
    if config is not None:
        if data_type is not None and data_type != config.data_type:
            raise BadRequest("dataType does not match the score config")
        if name != config.name:
            raise BadRequest("name must equal the score config's name")
        data_type = config.data_type
    data_type = data_type or ("CATEGORICAL" if isinstance(value, str) else "NUMERIC")
    source = body.get("source") or "API"
    if source not in ("API", "ANNOTATION"):
        raise BadRequest("source must be API or ANNOTATION (EVAL is reserved for evaluators)")
    if source == "ANNOTATION" and config is None and data_type != "CORRECTION":
        raise BadRequest("source=ANNOTATION requires a configId")
    number, text = _typed_value(data_type, value, config)
    trace_id, observation_id = body.get("traceId"), body.get("observationId")
    if not (trace_id or body.get("sessionId") or body.get("datasetRunId")):
        raise BadRequest("A score needs a traceId, a sessionId or a datasetRunId")
    if observation_id and not trace_id:
        raise BadRequest("observationId requires traceId")
    environment = body.get("environment") or "default"
    if not isinstance(environment, str) or not ENVIRONMENT.match(environment):
        raise BadRequest(
            "environment must be lowercase letters, digits, '-' or '_' and not start with 'langfuse'"
        )
    score_id = body.get("id") or str(uuid.uuid4())
    if not isinstance(score_id, str):
        raise BadRequest("id must be a string")
    now = datetime.now(UTC)
    return StoredScore(
        id=score_id,
        name=name,
        timestamp=parse_optional_time(body.get("timestamp"), field="timestamp") or now,
        data_type=data_type,
        value=number,
        string_value=text,
        source=source,
        trace_id=trace_id,
        observation_id=observation_id,
        session_id=body.get("sessionId"),
        dataset_run_id=body.get("datasetRunId"),
        comment=body.get("comment"),
        metadata=body.get("metadata"),
        config_id=config.id if config else None,
        queue_id=body.get("queueId"),
        environment=environment,
        created_at=now,
        updated_at=now,
    )


def _config_for(config_id: Any, store: Store) -> StoredScoreConfig | None:
    if config_id is None:
        return None
    config = store.config(config_id) if isinstance(config_id, str) else None
    if config is None:
        raise BadRequest("configId does not name a score config of this project")
    if config.is_archived:
        raise BadRequest("The score config is archived")
    return config


def _typed_value(
    data_type: str, value: int | float | str, config: StoredScoreConfig | None
) -> tuple[float | None, str | None]:
    """The stored ``(value, stringValue)`` pair for one data type."""
    if data_type == "NUMERIC":
        if isinstance(value, str):
            raise BadRequest("A NUMERIC score needs a numeric value")
        low, high = (config.min_value, config.max_value) if config else (None, None)
        if (low is not None and value < low) or (high is not None and value > high):
            raise BadRequest("value is outside the score config's range")
        return float(value), None
    if data_type == "BOOLEAN":
        if isinstance(value, str) or value not in (0, 1):
            raise BadRequest("A BOOLEAN score needs the value 0 or 1")
        return float(value), "True" if value == 1 else "False"
    if not isinstance(value, str):
        raise BadRequest(f"A {data_type} score needs a string value")
    if data_type == "TEXT" and not 1 <= len(value) <= 500:
        raise BadRequest("A TEXT score needs 1 to 500 characters")
    if data_type == "CORRECTION":
        return 0.0, value
    if data_type == "CATEGORICAL":
        categories = dict((label, v) for v, label in config.categories) if config else {}
        if config is not None and categories and value not in categories:
            raise BadRequest("value is not one of the score config's categories")
        return categories.get(value, 0.0), value
    return None, value


def post_score_config(body: Any, store: Store) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("A score config must be a JSON object")
    name, data_type = body.get("name"), body.get("dataType")
    if not isinstance(name, str) or not CONFIG_NAME.match(name):
        raise BadRequest("name must be 1-35 letters, digits, spaces, '_', '.', '(', ')' or '-'")
    if data_type not in CONFIG_DATA_TYPES:
        raise BadRequest(f"dataType must be one of {', '.join(CONFIG_DATA_TYPES)}")
    raw_categories = body.get("categories") or []
    if data_type == "BOOLEAN":
        if raw_categories:
            raise BadRequest("Categories are generated for BOOLEAN configs and cannot be passed")
        categories: tuple[tuple[float, str], ...] = ((0.0, "False"), (1.0, "True"))
    else:
        try:
            categories = tuple((float(c["value"]), str(c["label"])) for c in raw_categories)
        except (TypeError, KeyError, ValueError):
            raise BadRequest("categories must be a list of {value: number, label: string}") from None
        if data_type == "CATEGORICAL" and not categories:
            raise BadRequest("A CATEGORICAL config needs categories")
    low, high = body.get("minValue"), body.get("maxValue")
    if low is not None and high is not None and low > high:
        raise BadRequest("minValue must not exceed maxValue")
    now = datetime.now(UTC)
    config = StoredScoreConfig(
        id=str(uuid.uuid4()),
        name=name,
        data_type=data_type,
        created_at=now,
        updated_at=now,
        min_value=low,
        max_value=high,
        categories=categories,
        description=body.get("description"),
    )
    store.add_config(config)
    return score_config(config)
