"""Reads for the cluster pages and API: lists with growth, daily series, the 2-D map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from flywheel.models import Cluster, Failure, Project, Trace

SORTS: dict[str, Callable[[Cluster], tuple]] = {
    "size": lambda c: (-c.occurrences, c.number),
    "growth": lambda c: (-c.growth, -c.occurrences),  # type: ignore[attr-defined]
    # Newest first; a cluster without a recorded first run sorts last.
    "newest": lambda c: (
        c.first_seen is None,  # type: ignore[attr-defined]
        -(c.first_seen.timestamp() if c.first_seen else 0),  # type: ignore[attr-defined]
        c.number,
    ),
}
WINDOW = timedelta(days=7)


def anchor_time(project: Project) -> datetime:
    """'Now' for growth: the newest trace, so an old import still shows its own trend."""
    newest = Trace.objects.filter(project=project).aggregate(t=Max("timestamp"))["t"]
    return min(newest, timezone.now()) if newest else timezone.now()


def cluster_list(*, project: Project, sort: str = "size", rule: str = "") -> list[Cluster]:
    """Active clusters with ``recent``, ``previous`` (members whose trace falls in the last week,
    the week before) and ``growth``, sorted by ``sort`` (one of :data:`SORTS`).

    Two queries however many clusters and failures: the clusters, and one count per cluster and
    week over the members of the last two weeks (trace times come from an index, not the rows).
    """
    now = anchor_time(project)
    clusters = Cluster.objects.filter(project=project, active=True).select_related("first_run")
    if rule:
        clusters = clusters.filter(rule_counts__has_key=rule)
    weeks = (
        Failure.objects.filter(
            project=project, active=True, cluster__isnull=False, trace__timestamp__gt=now - 2 * WINDOW
        )
        .order_by()
        .values("cluster")
        .annotate(
            recent=Count("pk", filter=Q(trace__timestamp__gt=now - WINDOW)),
            previous=Count("pk", filter=Q(trace__timestamp__lte=now - WINDOW)),
        )
    )
    counts = {row["cluster"]: (row["recent"], row["previous"]) for row in weeks}
    rows = list(clusters)
    for c in rows:
        c.recent, c.previous = counts.get(c.pk, (0, 0))  # type: ignore[attr-defined]
        c.growth = c.recent - c.previous  # type: ignore[attr-defined]
        c.first_seen = c.first_run.started_at if c.first_run else None  # type: ignore[attr-defined]
    return sorted(rows, key=SORTS.get(sort, SORTS["size"]))


def noise_count(project: Project) -> int:
    return Failure.objects.filter(project=project, active=True, is_noise=True).count()


def rule_names(project: Project) -> list[str]:
    return list(project.failure_rules.values_list("name", flat=True))


def members(*, project: Project, cluster: Cluster | None) -> QuerySet[Failure]:
    base = Failure.objects.filter(project=project, active=True).select_related("trace")
    scoped = base.filter(cluster=cluster) if cluster else base.filter(is_noise=True)
    return scoped.order_by("duplicate_of_id", "-group_size", "-pk")


def daily_counts(*, project: Project, cluster: Cluster | None, days: int = 30) -> list[tuple[date, int]]:
    end = anchor_time(project).date()
    start = end - timedelta(days=days - 1)
    rows = (
        members(project=project, cluster=cluster)
        .filter(trace__timestamp__date__gte=start)
        .order_by()  # the members' ordering would split the GROUP BY
        .annotate(day=TruncDate("trace__timestamp"))
        .values("day")
        .annotate(n=Count("pk"))
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


@dataclass(frozen=True)
class MapPoint:
    number: int
    label: str
    x: float  # 0..1
    y: float  # 0..1
    r: float  # radius in px, by occurrences
    current: bool


def cluster_map(*, project: Project, current: Cluster | None = None) -> list[MapPoint]:
    """Cluster centres projected to 2-D (PCA of the centroids), sized by how often they occur."""
    clusters = [c for c in Cluster.objects.filter(project=project, active=True) if c.centroid is not None]
    if not clusters:
        return []
    centres = np.stack([c.centroid_array() for c in clusters])  # type: ignore[misc]
    centred = centres - centres.mean(axis=0)
    if len(clusters) > 1:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        xy = centred @ vt[:2].T if vt.shape[0] > 1 else np.c_[centred @ vt[0], np.zeros(len(clusters))]
    else:
        xy = np.zeros((1, 2))
    lo, span = xy.min(axis=0), np.ptp(xy, axis=0)
    xy = (xy - lo) / np.where(span > 0, span, 1) * 0.8 + 0.1
    largest = max(c.occurrences for c in clusters) or 1
    return [
        MapPoint(
            c.number, c.label, float(x), float(y), 6 + 24 * (c.occurrences / largest) ** 0.5, c == current
        )
        for c, (x, y) in zip(clusters, xy, strict=True)
    ]
