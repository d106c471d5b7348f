"""Write final labels, corrections and cluster membership back to Langfuse as scores.

``scores_write_back`` walks a project's candidate traces in keyset chunks (bounded memory),
builds each trace's scores with the plain core (``flywheel.writeback``), diffs them against
the ledger (``ScoreWrite``), and sends only new or changed ones, in batches, through the SDK.
A ledger row is written only after Langfuse accepted its score, so a run stopped by an outage
keeps what was accepted and the next run continues where it stopped; unchanged scores are
never re-sent; scores written earlier that no longer apply are retracted. Ids are
deterministic, so even a lost ledger only costs re-sending (upserts), never duplicates.

Target of a trace: its own source when that is a Langfuse source, else the project's
``FlywheelPolicy.writeback_source`` (file-imported traces); without one the trace is counted
in ``skipped_no_target``. See ``docs/writeback.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate.models import Sample
from flywheel.errors import ConfigError
from flywheel.ingest.batching import progress_bar
from flywheel.ingest.langfuse_api import LangfuseApiConfig
from flywheel.ingest.sync import api_config_for
from flywheel.models import Failure, FlywheelPolicy, Project, ScoreWrite, Trace, TraceSource
from flywheel.selectors.writeback import (
    LabelState,
    TraceChunk,
    candidate_ids,
    writeback_candidates,
    writeback_chunk,
)
from flywheel.writeback import (
    ClusterRecord,
    LabelRecord,
    ScorePayload,
    ScoreWriter,
    TraceRef,
    WritebackConfig,
    Written,
    cluster_score,
    label_scores,
    plan_trace,
)
from flywheel.writeback.payloads import CLUSTER

log = logging.getLogger(__name__)
WriterFactory = Callable[[LangfuseApiConfig, str], ScoreWriter]
WRITEBACK_OFF = "write-back is off for this project (FlywheelPolicy.writeback_enabled); nothing sent"
NOT_LANGFUSE_TARGET = "The write-back source '{source}' of project '{project}' is a {kind} source."
NOT_LANGFUSE_TARGET_HINT = (
    "Scores can only go to Langfuse: set FlywheelPolicy.writeback_source (admin > Flywheel policies) "
    "to a Langfuse API source, or clear it."
)
MAX_FAILURES_LISTED = 20


@dataclass
class WritebackResult:
    """Counts of one run. ``considered`` and ``skipped_no_target`` count traces; the rest scores."""

    considered: int = 0  # traces with a label, a clustered failure, or scores written before
    sent: int = 0  # scores Langfuse accepted (a dry run: would send)
    unchanged: int = 0  # scores already in Langfuse as they are, not re-sent (held ones included)
    retracted: int = 0  # scores deleted from Langfuse: no longer part of the label or the cluster
    failed: int = 0  # scores Langfuse refused; not in the ledger, so the next run tries again
    skipped_no_target: int = 0  # traces of a file source with no FlywheelPolicy.writeback_source
    requests: int = 0  # HTTP requests made, retries included
    dry_run: bool = False
    note: str = ""
    failures: list[str] = field(default_factory=list)  # the first refusals: score, trace, reason

    def summary(self) -> str:
        if self.note:
            return f"write-back: {self.note}"
        verb = "would send" if self.dry_run else "sent"
        gone = "would retract" if self.dry_run else "retracted"
        line = (
            f"write-back{' (dry run)' if self.dry_run else ''}: {self.considered} traces; "
            f"{self.sent} scores {verb}, {self.unchanged} unchanged, {self.retracted} {gone}, "
            f"{self.failed} refused"
        )
        if self.skipped_no_target:
            line += f"; {self.skipped_no_target} traces skipped (no Langfuse target)"
        return line


def default_config() -> WritebackConfig:
    return WritebackConfig(prefix=settings.WRITEBACK_SCORE_PREFIX)


def default_writer(config: LangfuseApiConfig, target: str) -> ScoreWriter:
    return ScoreWriter(config, target=target)


def scores_write_back(
    *,
    project: Project,
    progress: bool = False,
    dry_run: bool = False,
    config: WritebackConfig | None = None,
    writer_factory: WriterFactory = default_writer,
) -> WritebackResult:
    """Bring the project's scores in Langfuse up to date with its final labels and clusters.

    Raises ``SourceAuthError`` (keys rejected), ``SourceUnreachable`` (outage after retries),
    ``SourceRateLimited`` or ``ConfigError`` (a missing secret, a wrong target); everything
    accepted before the error is in the ledger. A dry run reads only: no request, no write.
    """
    config = config or default_config()
    result = WritebackResult(dry_run=dry_run)
    policy = FlywheelPolicy.objects.filter(project=project).select_related("writeback_source").first()
    if policy is not None and not policy.writeback_enabled:
        result.note = WRITEBACK_OFF
        return result
    run = _Run(project, config, result, _fallback_target(project, policy), writer_factory, dry_run)
    total = writeback_candidates(project).count()
    with progress_bar(desc=f"write-back {project.name}", enabled=progress, unit="trace") as bar:
        bar.total = total
        try:
            after = 0
            while ids := candidate_ids(project, after=after, limit=config.trace_chunk):
                run.chunk(writeback_chunk(project, ids))
                after = ids[-1]
                bar.update(len(ids))
            run.flush_all()
        finally:
            run.close()
    log.info("%s (project %s)", result.summary(), project.name)
    return result


def _fallback_target(project: Project, policy: FlywheelPolicy | None) -> TraceSource | None:
    target = policy.writeback_source if policy is not None else None
    if target is not None and target.kind != TraceSource.Kind.LANGFUSE:
        raise ConfigError(
            NOT_LANGFUSE_TARGET.format(source=target.name, project=project.name, kind=target.kind),
            hint=NOT_LANGFUSE_TARGET_HINT,
        )
    return target


class _Run:
    """One write-back run: per-target batches, writers opened on first use, the ledger kept in step."""

    def __init__(
        self,
        project: Project,
        config: WritebackConfig,
        result: WritebackResult,
        fallback: TraceSource | None,
        writer_factory: WriterFactory,
        dry_run: bool,
    ) -> None:
        self.project, self.config, self.result = project, config, result
        self.fallback, self.writer_factory, self.dry_run = fallback, writer_factory, dry_run
        self.targets: dict[int, TraceSource] = {}
        self.writers: dict[int, ScoreWriter] = {}
        self.pending: dict[int, list[tuple[Trace, ScorePayload]]] = {}
        self.pending_bytes: dict[int, int] = {}

    def chunk(self, chunk: TraceChunk) -> None:
        for trace in chunk.traces:
            self.result.considered += 1
            target = trace.source if trace.source.kind == TraceSource.Kind.LANGFUSE else self.fallback
            if target is None:
                self.result.skipped_no_target += 1
                continue
            self.targets.setdefault(target.pk, target)
            self._trace(trace, target, chunk)

    def _trace(self, trace: Trace, target: TraceSource, chunk: TraceChunk) -> None:
        held = chunk.states.get(trace.pk, LabelState.NONE) is LabelState.HOLD
        cluster_name = self.config.prefix + CLUSTER
        desired = self._desired(trace, chunk.samples.get(trace.pk), chunk.failures.get(trace.pk))
        written = [row for source_pk, row in chunk.written.get(trace.pk, []) if source_pk == target.pk]
        # A re-queued label keeps its scores until the new decision overwrites them (same ids).
        plan = plan_trace(desired, written, hold=lambda row: held and row.name != cluster_name)
        self.result.unchanged += plan.unchanged
        for row in plan.retract:
            self._retract(target, row)
        for payload in plan.send:
            self._queue(target, trace, payload)

    def _desired(self, trace: Trace, sample: Sample | None, failure: Failure | None) -> list[ScorePayload]:
        ref = TraceRef(
            project=self.project.name,
            source=trace.source.name,
            trace_id=trace.external_id,
            timestamp=trace.timestamp or trace.ingested_at,
            environment=trace.environment,
        )
        scores = label_scores(label_record(ref, sample), self.config) if sample is not None else []
        if failure is not None and failure.cluster is not None:
            cluster = failure.cluster
            record = ClusterRecord(
                trace=ref,
                number=cluster.number,
                label=cluster.label,
                rules=tuple(str(r) for r in failure.rules or []),
                assigned_by=failure.assigned_by,
                duplicate=failure.duplicate_of_id is not None,
            )
            scores.append(cluster_score(record, self.config))
        return scores

    # -- sending ------------------------------------------------------------------------
    def _queue(self, target: TraceSource, trace: Trace, payload: ScorePayload) -> None:
        queue = self.pending.setdefault(target.pk, [])
        used = self.pending_bytes.get(target.pk, 0)
        if queue and (
            len(queue) >= self.config.batch_size or used + payload.size > self.config.max_batch_bytes
        ):
            self._flush(target.pk)
            queue, used = self.pending.setdefault(target.pk, []), 0
        queue.append((trace, payload))
        self.pending_bytes[target.pk] = used + payload.size

    def flush_all(self) -> None:
        for target_pk in list(self.pending):
            self._flush(target_pk)

    def _flush(self, target_pk: int) -> None:
        batch = self.pending.pop(target_pk, [])
        self.pending_bytes.pop(target_pk, None)
        if not batch:
            return
        if self.dry_run:
            self.result.sent += len(batch)
            return
        outcome = self._writer(target_pk).send([payload for _, payload in batch])
        accepted = set(outcome.accepted)
        self._record(self.targets[target_pk], [(t, p) for t, p in batch if p.score_id in accepted])
        self.result.sent += len(accepted)
        self.result.failed += len(outcome.refused)
        by_id = {p.score_id: (t, p) for t, p in batch}
        for refusal in outcome.refused:
            trace, payload = by_id[refusal.score_id]
            if len(self.result.failures) < MAX_FAILURES_LISTED:
                self.result.failures.append(f"{payload.name} on trace {trace.external_id}: {refusal.reason}")
            log.warning(
                "Langfuse refused score %s on trace %s: %s", payload.name, trace.external_id, refusal.reason
            )

    def _record(self, target: TraceSource, accepted: Sequence[tuple[Trace, ScorePayload]]) -> None:
        if not accepted:
            return
        now = timezone.now()
        rows = [
            ScoreWrite(
                project=self.project,
                source=target,
                trace=trace,
                score_id=payload.score_id,
                name=payload.name,
                payload_sha256=payload.sha256,
                written_at=now,
            )
            for trace, payload in accepted
        ]
        with transaction.atomic():
            ScoreWrite.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["source", "score_id"],
                update_fields=["trace", "name", "payload_sha256", "written_at"],
            )

    def _retract(self, target: TraceSource, row: Written) -> None:
        self.result.retracted += 1
        if self.dry_run:
            return
        self._writer(target.pk).delete(row.score_id)
        ScoreWrite.objects.filter(source=target, score_id=row.score_id).delete()

    def _writer(self, target_pk: int) -> ScoreWriter:
        writer = self.writers.get(target_pk)
        if writer is None:
            target = TraceSource.objects.get(pk=target_pk)  # the chunk's copy has only name and kind
            writer = self.writers[target_pk] = self.writer_factory(api_config_for(target), target.name)
        return writer

    def close(self) -> None:
        for writer in self.writers.values():
            self.result.requests += writer.requests
            writer.close()


def label_record(trace: TraceRef, sample: Sample) -> LabelRecord:
    """A final label sample as the core's plain record (no prompt, no trace content but the answer)."""
    lineage = sample.lineage if isinstance(sample.lineage, dict) else {}
    values = sample.values if isinstance(sample.values, dict) else {}
    model_answer = sample.task.model_answer if sample.task is not None else ""
    differs = bool(sample.rejected_answer) or (not model_answer.strip() and bool(sample.answer.strip()))
    observation = lineage.get("observation_id")
    cluster = lineage.get("cluster")
    return LabelRecord(
        trace=trace,
        values=values,
        item_key=sample.item_key,
        sop_version=sample.sop.version if sample.sop is not None else lineage.get("sop_version"),
        decision=sample.decision,
        reviewer=sample.reviewer.get_username() if sample.reviewer is not None else lineage.get("reviewer"),
        annotators=tuple(str(a) for a in sample.annotators or []),
        round=sample.round,
        decided_at=sample.decided_at,
        observation_id=observation if isinstance(observation, str) and observation else None,
        cluster=cluster if isinstance(cluster, str) else None,
        correction=sample.answer if differs else None,
        lineage=lineage,
    )
