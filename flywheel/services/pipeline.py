"""rules -> embed -> dedup -> cluster (or assign): the failure pipeline of one project."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from flywheel.cluster.embedding import Embedder
from flywheel.csvsafe import csv_lines
from flywheel.ingest.batching import progress_bar
from flywheel.models import ClusterRun, Failure, Project
from flywheel.services.clustering import clusters_assign, clusters_recluster
from flywheel.services.embedding import failures_embed
from flywheel.services.rules import Evaluation, failures_evaluate


@dataclass
class PipelineOutcome:
    run: ClusterRun
    evaluation: Evaluation
    embedded: int
    clustering: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        e, c = self.evaluation, self.clustering
        head = (
            f"{e.traces} traces checked, {e.flagged} flagged ({e.new} new, {e.changed} changed, "
            f"{e.cleared} cleared); {self.embedded} embedded"
        )
        if self.run.kind == ClusterRun.Kind.FULL:
            return (
                f"{head}; full clustering: {c.get('clusters', 0)} clusters ({c.get('new_clusters', 0)} new, "
                f"{c.get('retired_clusters', 0)} retired), {c.get('noise', 0)} failures unclustered"
            )
        return (
            f"{head}; incremental: {c.get('failures', 0)} new failures, {c.get('assigned', 0)} assigned to "
            f"clusters, {c.get('duplicates', 0)} duplicates of known ones, {c.get('noise', 0)} unclustered"
        )


def needs_full_run(project: Project) -> bool:
    last = project.cluster_runs.filter(kind=ClusterRun.Kind.FULL, status=ClusterRun.Status.SUCCEEDED).first()
    if last is None:
        return True
    return timezone.now() - last.started_at > timedelta(days=project.recluster_every_days)


def failures_pipeline(
    *, project: Project, embedder: Embedder, full: bool | None = None, progress: bool = False
) -> PipelineOutcome:
    """One idempotent pass. ``full=None`` re-clusters when due (none yet, or older than policy)."""
    kind = (
        ClusterRun.Kind.FULL
        if (full if full is not None else needs_full_run(project))
        else ClusterRun.Kind.INCREMENTAL
    )
    run = ClusterRun.objects.create(project=project, kind=kind)
    try:
        bar = progress_bar(desc="rules", enabled=progress, unit="trace")
        with bar:
            evaluation = failures_evaluate(project=project, progress=bar.update)
        bar = progress_bar(desc="embed", enabled=progress, unit="failure")
        with bar:
            embedded = failures_embed(project=project, embedder=embedder, progress=bar.update)
        if kind == ClusterRun.Kind.FULL:
            clustering = clusters_recluster(project=project, run=run)
        else:
            clustering = clusters_assign(project=project, run=run)
    except Exception as exc:
        run.status, run.error, run.finished_at = ClusterRun.Status.FAILED, type(exc).__name__, timezone.now()
        run.save()
        raise
    outcome = PipelineOutcome(run=run, evaluation=evaluation, embedded=embedded, clustering=clustering)
    run.manifest = {
        **run.manifest,
        "evaluation": vars(evaluation),
        "embedded": embedded,
        "counts": clustering,
    }
    run.summary, run.status, run.finished_at = outcome.summary(), ClusterRun.Status.SUCCEEDED, timezone.now()
    run.save()
    return outcome


ASSIGNMENT_COLUMNS = ["trace_id", "cluster_id", "cluster_name", "is_noise", "duplicate_of"]


def export_assignments(*, project: Project, path: Path) -> int:
    """One row per flagged trace; ``duplicate_of`` is the representative's trace id (empty for it).

    Every cell is formula-safe (:mod:`flywheel.csvsafe`: trace ids and cluster names are user
    input); the file is written beside ``path`` and renamed over it once complete.
    """
    rows = (
        Failure.objects.filter(project=project, active=True)
        .select_related("trace", "cluster", "duplicate_of__trace")
        .order_by("pk")
    )
    count = 0

    def cells() -> Iterator[list[Any]]:
        nonlocal count
        for failure in rows.iterator(chunk_size=2000):
            cluster = failure.cluster
            count += 1
            yield [
                failure.trace.external_id,
                f"C{cluster.number}" if cluster else "",
                cluster.label if cluster else "unclustered",
                "true" if failure.is_noise else "false",
                failure.duplicate_of.trace.external_id if failure.duplicate_of else "",
            ]

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            out.writelines(csv_lines(ASSIGNMENT_COLUMNS, cells()))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
