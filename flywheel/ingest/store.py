"""Writes a batch of source records: scrub first, then one transaction of idempotent upserts.

Raw values live only in memory between the source and the scrubber. What reaches the
database, the quarantine and the logs is scrubbed text, ids and counts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from flywheel.ingest.conversation import extract_conversation
from flywheel.ingest.records import ObservationRecord, Rejected, ScoreRecord, SourceItem, TraceRecord
from flywheel.models import Observation, Quarantine, Score, SyncRun, Trace, TraceSource
from flywheel.pii.placeholders import PlaceholderRegistry
from flywheel.pii.scrubber import Scrubber, ScrubDoc


@dataclass
class BatchOutcome:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    trace_ids: set[str] = field(default_factory=set)

    def add(self, other: BatchOutcome) -> None:
        self.read += other.read
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.trace_ids |= other.trace_ids


def _trace_fields(record: TraceRecord) -> dict[str, Any]:
    return {
        "name": record.name or "",
        "user_id": record.user_id or "",
        "session_id": record.session_id or "",
        "tags": list(record.tags),
        "release": record.release or "",
        "input": record.input,
        "output": record.output,
        "metadata": record.metadata,
    }


def _observation_fields(record: ObservationRecord) -> dict[str, Any]:
    return {
        "name": record.name or "",
        "status_message": record.status_message or "",
        "input": record.input,
        "output": record.output,
        "metadata": record.metadata,
    }


def _score_fields(record: ScoreRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "string_value": record.string_value or "",
        "comment": record.comment or "",
    }


_SCRUBBED_FIELDS = {
    TraceRecord: _trace_fields,
    ObservationRecord: _observation_fields,
    ScoreRecord: _score_fields,
}


def ingest_batch(
    *, source: TraceSource, items: Sequence[SourceItem], scrubber: Scrubber, key: bytes, run: SyncRun | None
) -> BatchOutcome:
    """Scrub and store one batch. Re-ingesting the same records changes nothing."""
    outcome = BatchOutcome(read=len(items))
    records = [item for item in items if not isinstance(item, Rejected)]
    rejected = [item for item in items if isinstance(item, Rejected)]
    trace_ids = {record.id if isinstance(record, TraceRecord) else record.trace_id for record in records}
    outcome.trace_ids = trace_ids

    # Registries come from what is stored, so placeholders stay stable across runs.
    stored_maps = dict(
        Trace.objects.filter(source=source, external_id__in=trace_ids).values_list(
            "external_id", "placeholder_map"
        )
    )
    registries = {tid: PlaceholderRegistry(key, dict(stored_maps.get(tid) or {})) for tid in trace_ids}
    docs = [
        ScrubDoc(
            value=_SCRUBBED_FIELDS[type(record)](record),  # type: ignore[operator]
            registry=registries[record.id if isinstance(record, TraceRecord) else record.trace_id],
        )
        for record in records
    ]
    results = scrubber.scrub_many(docs)

    with transaction.atomic():
        traces = _ensure_traces(source, trace_ids)
        children: dict[type, list[tuple[Trace, Any, dict[str, Any]]]] = {Observation: [], Score: []}
        for record, result in zip(records, results, strict=True):
            counts = dict(sorted(result.counts.items()))
            if isinstance(record, TraceRecord):
                state = _upsert_trace(traces[record.id], record, result.value, counts)
                setattr(outcome, state, getattr(outcome, state) + 1)
            elif isinstance(record, ObservationRecord):
                values = _observation_values(record, result.value, counts)
                children[Observation].append((traces[record.trace_id], record.id, values))
            else:
                values = _score_values(record, result.value, counts)
                children[Score].append((traces[record.trace_id], record.id, values))
        for model, rows in children.items():
            for state, n in _bulk_upsert(model, rows).items():
                setattr(outcome, state, getattr(outcome, state) + n)
        for tid, trace in traces.items():
            trace.placeholder_map = registries[tid].mapping
        _refresh_derived(list(traces.values()), config_hash=scrubber.config_hash)
        outcome.quarantined = quarantine(source=source, rejected=rejected, run=run)
    return outcome


def _ensure_traces(source: TraceSource, trace_ids: Iterable[str]) -> dict[str, Trace]:
    """Existing traces, plus empty ones for records whose trace we have not read yet."""
    existing = {t.external_id: t for t in Trace.objects.filter(source=source, external_id__in=trace_ids)}
    missing = [
        Trace(project_id=source.project_id, source=source, external_id=tid)
        for tid in trace_ids
        if tid not in existing
    ]
    if missing:
        Trace.objects.bulk_create(missing, ignore_conflicts=True)
        existing.update(
            {
                t.external_id: t
                for t in Trace.objects.filter(source=source, external_id__in=[m.external_id for m in missing])
            }
        )
    return existing


def _apply(instance: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def _upsert_trace(trace: Trace, record: TraceRecord, scrubbed: dict[str, Any], counts: dict[str, int]) -> str:
    fresh = trace.timestamp is None and not trace.name and trace.input is None
    values = {
        **scrubbed,
        "version": record.version or "",
        "environment": record.environment or "",
        "timestamp": record.timestamp,
        "source_updated_at": record.updated_at,
        "pii_counts": counts,
    }
    if record.partial:
        # Only what this record knows, and only where the stored trace knows nothing yet.
        values = {
            k: v
            for k, v in values.items()
            if v not in (None, "", [], {}) and getattr(trace, k) in (None, "", [], {})
        }
    if not _apply(trace, values):
        return "unchanged"
    trace.save()
    return "created" if fresh else "updated"


def _observation_values(
    record: ObservationRecord, scrubbed: dict[str, Any], counts: dict[str, int]
) -> dict[str, Any]:
    return {
        **scrubbed,
        "parent_external_id": record.parent_id or "",
        "type": record.type,
        "level": record.level,
        "model": record.model or "",
        "start_time": record.start_time,
        "end_time": record.end_time,
        "usage": record.usage,
        "total_cost": record.total_cost,
        "latency_ms": record.latency_ms,
        "source_updated_at": record.updated_at,
        "pii_counts": counts,
    }


def _score_values(record: ScoreRecord, scrubbed: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    return {
        **scrubbed,
        "observation_external_id": record.observation_id or "",
        "value": record.value,
        "data_type": record.data_type,
        "source": record.source,
        "timestamp": record.timestamp,
        "pii_counts": counts,
    }


def _bulk_upsert(model: Any, rows: list[tuple[Trace, str, dict[str, Any]]]) -> Counter[str]:
    """Insert new rows, update changed ones, leave equal ones alone: three queries, not 2n."""
    states: Counter[str] = Counter()
    if not rows:
        return states
    # The last version of a record in the batch wins (a source may repeat a row).
    latest = {(trace.pk, ext_id): (trace, ext_id, values) for trace, ext_id, values in rows}
    existing = {
        (obj.trace_id, obj.external_id): obj
        for obj in model.objects.filter(
            trace__in={trace.pk for trace, _, _ in latest.values()},
            external_id__in={ext_id for _, ext_id, _ in latest.values()},
        )
    }
    to_create, to_update, fields = [], [], set[str]()
    for key, (trace, ext_id, values) in latest.items():
        obj = existing.get(key)
        if obj is None:
            to_create.append(model(trace=trace, external_id=ext_id, **values))
        elif _apply(obj, values):
            to_update.append(obj)
            fields.update(values)
        else:
            states["unchanged"] += 1
    model.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        model.objects.bulk_update(to_update, sorted(fields), batch_size=500)
    states["created"] += len(to_create)
    states["updated"] += len(to_update)
    return states


def _refresh_derived(traces: list[Trace], *, config_hash: str) -> None:
    """Conversation, trace-level latency/cost and the scrub audit, from what is stored."""
    observations: dict[int, list[Observation]] = {t.pk: [] for t in traces}
    for obs in Observation.objects.filter(trace__in=traces).order_by("start_time", "id"):
        observations[obs.trace_id].append(obs)
    score_counts: dict[int, Counter[str]] = {t.pk: Counter() for t in traces}
    for trace_pk, counts in Score.objects.filter(trace__in=traces).values_list("trace_id", "pii_counts"):
        score_counts[trace_pk].update(counts)
    for trace in traces:
        own = observations[trace.pk]
        totals: Counter[str] = Counter(trace.pii_counts)
        for obs in own:
            totals.update(obs.pii_counts)
        totals.update(score_counts[trace.pk])
        costs = [o.total_cost for o in own if o.total_cost is not None]
        starts = [o.start_time for o in own if o.start_time]
        ends = [o.end_time for o in own if o.end_time]
        _apply(
            trace,
            {
                "conversation": extract_conversation(trace.input, trace.output, own),
                "total_cost": sum(costs) if costs else None,
                "latency_ms": (max(ends) - min(starts)).total_seconds() * 1000 if starts and ends else None,
                "scrub_audit": {"counts": dict(sorted(totals.items())), "config_hash": config_hash},
            },
        )
        trace.save()


def quarantine(*, source: TraceSource, rejected: Sequence[Rejected], run: SyncRun | None) -> int:
    """Records what was rejected and why (never its content); the same reject twice is one row."""
    for item in rejected:
        fingerprint = hashlib.sha256(
            "\0".join([item.kind, item.location, item.external_id or "", item.reason]).encode()
        ).hexdigest()
        row, created = Quarantine.objects.get_or_create(
            source=source,
            fingerprint=fingerprint,
            defaults={
                "project_id": source.project_id,
                "run": run,
                "record_kind": item.kind,
                "external_id": item.external_id or "",
                "trace_external_id": item.trace_id or "",
                "location": item.location[:512],
                "reason": item.reason,
            },
        )
        if not created:
            row.seen_count += 1
            row.run = run
            row.save(update_fields=["seen_count", "run", "last_seen"])
    return len(rejected)
