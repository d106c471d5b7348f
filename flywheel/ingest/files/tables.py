"""Rows of each export table -> records.

Keys are read by snake_case name (see :class:`Fields`), so a camelCase UI export and a
snake_case blob export share one mapper per entity. A row that cannot be mapped becomes a
:class:`Rejected` whose reason names the field, never its value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

from flywheel.ingest.files import values as v
from flywheel.ingest.files.detect import KIND, Table
from flywheel.ingest.files.values import FieldError, Fields
from flywheel.ingest.records import ObservationRecord, Rejected, ScoreRecord, SourceItem, TraceRecord

T = TypeVar("T")
NOT_AN_OBJECT = "row is not a JSON object"


def _columns(names: str) -> frozenset[str]:
    return frozenset(names.split())


# Every non-score column of the UI exports. Anything else holding a list of scalars is a
# score column: Langfuse adds one per score name, holding that score's values.
_UI_TRACE_COLUMNS = _columns(
    "id timestamp name user_id session_id release version environment tags bookmarked public input "
    "output metadata comments level observation_count latency usage input_cost output_cost total_cost "
    "input_tokens output_tokens total_tokens project_id created_at updated_at external_id html_path "
    "observations scores"
)
_UI_OBSERVATION_COLUMNS = _columns(
    "id trace_id project_id type parent_observation_id start_time end_time completion_start_time name "
    "level status_message version environment input output metadata model provided_model_name "
    "internal_model internal_model_id model_id model_parameters usage_details provided_usage_details "
    "cost_details provided_cost_details usage unit prompt_tokens completion_tokens total_tokens "
    "input_usage output_usage total_usage input_cost output_cost total_cost calculated_input_cost "
    "calculated_output_cost calculated_total_cost input_price output_price total_price latency "
    "time_to_first_token prompt_id prompt_name prompt_version created_at updated_at trace_name "
    "trace_tags trace_timestamp user_id session_id comments tool_calls tool_call_names "
    "tool_definitions usage_pricing_tier_id usage_pricing_tier_name bookmarked public "
    "is_root_observation tags release scores"
)


class RowMapper:
    """Maps the rows of one file. Remembers which traces it has announced (ids only)."""

    def __init__(self, table: Table | None, file_name: str) -> None:
        self.table = table
        self.file_name = file_name
        self._announced: set[str] = set()

    def location(self, number: int) -> str:
        return f"{self.file_name}:{number}"

    def map(self, raw: Any, number: int) -> Iterator[SourceItem]:
        location = self.location(number)
        kind = KIND[self.table] if self.table else "unknown"
        if not isinstance(raw, Mapping) or self.table is None:
            yield Rejected(kind, NOT_AN_OBJECT, location)
            return
        fields = Fields(raw)
        if self.table is Table.DOWNLOAD:
            yield from _download(raw, location)
        elif self.table in (Table.UI_TRACES, Table.TRACES):
            trace = _guard("trace", location, fields, partial(trace_record, fields))
            yield trace
            if self.table is Table.UI_TRACES and isinstance(trace, TraceRecord):
                yield from _column_scores(fields, _UI_TRACE_COLUMNS, trace.id, None)
        elif self.table is Table.SCORES:
            yield _guard("score", location, fields, partial(score_record, fields))
        else:
            yield from self._observation(fields, location)

    def _observation(self, fields: Fields, location: str) -> Iterator[SourceItem]:
        observation = _guard("observation", location, fields, partial(observation_record, fields))
        if isinstance(observation, ObservationRecord):
            yield from self._announce_trace(fields, observation, location)
        yield observation
        if self.table is Table.UI_OBSERVATIONS and isinstance(observation, ObservationRecord):
            yield from _column_scores(fields, _UI_OBSERVATION_COLUMNS, observation.trace_id, observation.id)

    def _announce_trace(
        self, fields: Fields, observation: ObservationRecord, location: str
    ) -> Iterator[SourceItem]:
        """A TraceRecord before a trace's first observation, built from its trace context.

        The legacy blob observations table has no trace context; its traces table does.
        An observations_v2 root observation carries the trace's own I/O, so it yields a
        full record even after a stub: a later record for an id is the more complete one.
        """
        trace_id = observation.trace_id
        is_root = self.table is Table.OBSERVATIONS_V2 and _truthy(fields.get("is_root_observation"))
        if self.table is Table.OBSERVATIONS or (trace_id in self._announced and not is_root):
            return
        try:
            trace = trace_stub(fields, trace_id, observation if is_root else None)
        except FieldError as error:
            yield Rejected("trace", str(error), location, external_id=trace_id, trace_id=trace_id)
            return
        self._announced.add(trace_id)
        yield trace


def trace_record(fields: Fields) -> TraceRecord:
    return TraceRecord(
        id=v.required_id(fields, "id"),
        timestamp=v.timestamp(fields, "timestamp"),
        name=v.text(fields, "name"),
        user_id=v.text(fields, "user_id"),
        session_id=v.text(fields, "session_id"),
        tags=v.tags(fields, "tags"),
        release=v.text(fields, "release"),
        version=v.text(fields, "version"),
        environment=v.text(fields, "environment"),
        input=v.json_value(fields.get("input")),
        output=v.json_value(fields.get("output")),
        metadata=v.json_value(fields.get("metadata")),
        updated_at=v.timestamp(fields, "updated_at"),
    )


def trace_stub(fields: Fields, trace_id: str, root: ObservationRecord | None) -> TraceRecord:
    """The trace as an observation row describes it (UI ``trace*`` columns, v2 context)."""
    return TraceRecord(
        id=trace_id,
        timestamp=v.timestamp(fields, "trace_timestamp") or (root.start_time if root else None),
        name=v.text(fields, "trace_name"),
        user_id=v.text(fields, "user_id"),
        session_id=v.text(fields, "session_id"),
        tags=v.tags(fields, "trace_tags", "tags"),
        release=v.text(fields, "release"),
        environment=v.text(fields, "environment"),
        input=root.input if root else None,
        output=root.output if root else None,
        partial=root is None,
    )


def observation_record(fields: Fields) -> ObservationRecord:
    start = v.timestamp(fields, "start_time")
    end = v.timestamp(fields, "end_time")
    usage = v.numeric_map(fields, "usage_details")
    legacy_usage = v.json_value(fields.get("usage"))
    if not usage and isinstance(legacy_usage, dict):
        # Pre-2024 rows: {input, output, total, unit}; "unit" is the only non-number.
        usage = {str(k): f for k, n in legacy_usage.items() if (f := v.to_float(n)) is not None}
    total_cost = v.number(fields, "total_cost", "calculated_total_cost")
    if total_cost is None:
        total_cost = v.numeric_map(fields, "cost_details").get("total")
    return ObservationRecord(
        id=v.required_id(fields, "id", "span_id"),
        trace_id=v.required_id(fields, "trace_id"),
        type=(v.text(fields, "type") or "SPAN").upper(),
        name=v.text(fields, "name"),
        parent_id=v.text(fields, "parent_observation_id", "parent_span_id"),
        level=v.level(fields),
        status_message=v.text(fields, "status_message"),
        start_time=start,
        end_time=end,
        model=v.text(fields, "provided_model_name", "model"),
        input=v.json_value(fields.get("input")),
        output=v.json_value(fields.get("output")),
        metadata=v.json_value(fields.get("metadata")),
        usage=usage,
        total_cost=total_cost,
        latency_ms=v.latency_ms(fields, start, end),
        updated_at=v.timestamp(fields, "updated_at"),
    )


def score_record(fields: Fields) -> ScoreRecord:
    """A score row (blob export, v3 API) or a ScoreV1 object (download-trace JSON)."""
    raw_value = fields.get("value")
    string_value = v.text(fields, "string_value")
    value = v.to_float(raw_value)
    if raw_value is not None and value is None:
        if not isinstance(raw_value, str):
            raise FieldError(f"field '{fields.label('value')}' is not a number or a string")
        # v3 reads return CATEGORICAL/TEXT values as strings in ``value``.
        string_value = string_value or raw_value
    return ScoreRecord(
        id=v.required_id(fields, "id"),
        trace_id=v.required_id(fields, "trace_id"),
        name=v.required_id(fields, "name"),
        observation_id=v.text(fields, "observation_id"),
        value=value,
        string_value=string_value,
        data_type=(v.text(fields, "data_type") or _default_data_type(value)).upper(),
        source=(v.text(fields, "source") or "API").upper(),
        comment=v.text(fields, "comment"),
        timestamp=v.timestamp(fields, "timestamp"),
    )


def _column_scores(
    fields: Fields, known: frozenset[str], trace_id: str, observation_id: str | None
) -> Iterator[ScoreRecord]:
    """UI export score columns -> scores.

    The export has no score ids, so the id is ``{trace_id}:{name}:{index}`` (with the
    observation id after the trace id for observation exports): stable across re-imports
    of the same export. The export also drops the data type (numbers may be NUMERIC or
    BOOLEAN, strings CATEGORICAL or TEXT), source and timestamp.
    """
    owner = f"{trace_id}:{observation_id}" if observation_id else trace_id
    for column in fields.unknown_keys(known):
        scores = v.json_value(fields.raw[column])
        if not isinstance(scores, list) or not all(
            s is None or isinstance(s, str | int | float) for s in scores
        ):
            continue
        for index, score in enumerate(scores):
            if score is None:
                continue
            numeric = not isinstance(score, str)
            yield ScoreRecord(
                id=f"{owner}:{column}:{index}",
                trace_id=trace_id,
                name=column,
                observation_id=observation_id,
                value=float(score) if numeric else None,
                string_value=None if numeric else str(score),
                data_type="NUMERIC" if numeric else "CATEGORICAL",
            )


def _download(raw: Mapping[str, Any], location: str) -> Iterator[SourceItem]:
    """``{"trace": {...}, "observations": [...]}``: the trace, its observations, its scores."""
    trace_raw = raw.get("trace")
    if not isinstance(trace_raw, Mapping):
        yield Rejected("trace", "field 'trace' is not an object", location)
        return
    trace_fields = Fields(trace_raw)
    trace = _guard("trace", location, trace_fields, partial(trace_record, trace_fields))
    yield trace
    if not isinstance(trace, TraceRecord):
        return
    # The top-level list has the full I/O; the copy inside "trace" may have it nulled.
    for key, kind, build in _DOWNLOAD_LISTS:
        items = raw.get(key)
        if items is None:
            items = trace_raw.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            yield Rejected(kind, f"field '{key}' is not a list", location, trace_id=trace.id)
            continue
        for index, item in enumerate(items):
            where = f"{location}:{key}[{index}]"
            if not isinstance(item, Mapping):
                yield Rejected(kind, NOT_AN_OBJECT, where, trace_id=trace.id)
                continue
            # Rows inside a trace download belong to it even when they omit traceId.
            owned = "traceId" in item or "trace_id" in item
            fields = Fields(item if owned else {**item, "traceId": trace.id})
            yield _guard(kind, where, fields, partial(build, fields))


_DOWNLOAD_LISTS: tuple[tuple[str, str, Callable[[Fields], SourceItem]], ...] = (
    ("observations", "observation", observation_record),
    ("scores", "score", score_record),
)


def _guard(kind: str, location: str, fields: Fields, build: Callable[[], T]) -> T | Rejected:
    try:
        return build()
    except FieldError as error:
        record_id = fields.get("id", "span_id")
        trace_id = record_id if kind == "trace" else fields.get("trace_id")
        return Rejected(
            kind,
            str(error),
            location,
            external_id=record_id if isinstance(record_id, str) else None,
            trace_id=trace_id if isinstance(trace_id, str) else None,
        )


def _default_data_type(value: float | None) -> str:
    return "NUMERIC" if value is not None else "CATEGORICAL"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)
