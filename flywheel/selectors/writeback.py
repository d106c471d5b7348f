"""Reads for the write-back: which traces have something for Langfuse, and what, a chunk at a time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Exists, OuterRef, QuerySet

from annotate.models import Sample
from flywheel.models import Failure, Project, ScoreWrite, Trace
from flywheel.writeback.plan import Written


class LabelState(StrEnum):
    FINAL = "final"  # the newest label sample is final: write it
    HOLD = "hold"  # re-queued (superseded, new round not decided yet): leave Langfuse as it is
    NONE = "none"  # discarded, or no label at all: what was written for the label is retracted


@dataclass
class TraceChunk:
    """Everything the write-back needs for a few hundred traces; nothing of their content."""

    traces: list[Trace]
    samples: dict[int, Sample] = field(default_factory=dict)  # trace pk -> its final label sample
    states: dict[int, LabelState] = field(default_factory=dict)
    failures: dict[int, Failure] = field(default_factory=dict)  # trace pk -> its clustered failure
    # trace pk -> (target source pk, ledger row) of every score written for it
    written: dict[int, list[tuple[int, Written]]] = field(default_factory=lambda: defaultdict(list))


def writeback_candidates(project: Project) -> QuerySet[Trace]:
    """Traces with a label sample, a clustered failure, or scores written before (to retract)."""
    labelled = Sample.objects.filter(trace=OuterRef("pk"), origin=Sample.Origin.ANNOTATION)
    clustered = Failure.objects.filter(trace=OuterRef("pk"), active=True, cluster__isnull=False)
    written = ScoreWrite.objects.filter(trace=OuterRef("pk"))
    return Trace.objects.filter(project=project).filter(
        Exists(labelled) | Exists(clustered) | Exists(written)
    )


def candidate_ids(project: Project, *, after: int, limit: int) -> list[int]:
    """The next ``limit`` candidate trace pks above ``after`` (keyset pages: bounded memory)."""
    page = writeback_candidates(project).filter(pk__gt=after).order_by("pk")
    return list(page.values_list("pk", flat=True)[:limit])


def writeback_chunk(project: Project, trace_ids: list[int]) -> TraceChunk:
    traces = list(
        Trace.objects.filter(project=project, pk__in=trace_ids)
        .select_related("source")
        .only(
            "pk",
            "external_id",
            "timestamp",
            "ingested_at",
            "environment",
            "source__name",
            "source__kind",
        )
        .order_by("pk")
    )
    chunk = TraceChunk(traces)
    samples = (
        Sample.objects.filter(project=project, trace_id__in=trace_ids, origin=Sample.Origin.ANNOTATION)
        .select_related("sop", "reviewer", "task")
        .only(
            "pk",
            "trace_id",
            "status",
            "values",
            "lineage",
            "item_key",
            "decision",
            "annotators",
            "round",
            "decided_at",
            "answer",
            "rejected_answer",
            "sop__version",
            "reviewer__username",
            "task__model_answer",
        )
        .order_by("trace_id", "-pk")
    )
    for sample in samples:
        assert sample.trace_id is not None
        if sample.trace_id in chunk.states:
            continue  # only the newest sample of a trace counts
        chunk.states[sample.trace_id] = _state(sample)
        if sample.status == Sample.Status.FINAL:
            chunk.samples[sample.trace_id] = sample
    failures = (
        Failure.objects.filter(trace_id__in=trace_ids, active=True, cluster__isnull=False)
        .select_related("cluster")
        .only(
            "pk",
            "trace_id",
            "rules",
            "assigned_by",
            "duplicate_of_id",
            "cluster__number",
            "cluster__name",
            "cluster__custom_name",
        )
    )
    chunk.failures = {f.trace_id: f for f in failures}
    ledger = ScoreWrite.objects.filter(trace_id__in=trace_ids).order_by("pk")
    for trace_pk, source_pk, score_id, name, sha in ledger.values_list(
        "trace_id", "source_id", "score_id", "name", "payload_sha256"
    ):
        chunk.written[trace_pk].append((source_pk, Written(score_id, name, sha)))
    return chunk


def _state(sample: Sample) -> LabelState:
    if sample.status == Sample.Status.FINAL:
        return LabelState.FINAL
    if sample.status in (Sample.Status.SUPERSEDED, Sample.Status.PROPOSED):
        return LabelState.HOLD
    return LabelState.NONE
