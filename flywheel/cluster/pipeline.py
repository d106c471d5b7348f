"""One clustering run as a short sequence of named stages: dedup → cluster → name → exemplars.

Input is aligned ``texts`` (n,) and unit ``vectors`` (n, dim) from an ``Embedder``; output labels
every input item, so a service can write results back row by row. Duplicates are clustered once
(through their representative) but counted in cluster sizes: a failure flagged 500 times is
still 500 failures.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flywheel.cluster.clustering import NOISE, ClusterFit, ClusterParams, fit_clusters
from flywheel.cluster.dedup import DEFAULT_THRESHOLD, DedupResult, group_duplicates
from flywheel.cluster.exemplars import exemplars
from flywheel.cluster.manifest import run_manifest
from flywheel.cluster.naming import NOISE_NAME, cluster_keywords, cluster_name


@dataclass(frozen=True, eq=False)
class Cluster:
    """One named cluster, or the noise bucket (``label == NOISE``, no centroid)."""

    label: int
    name: str
    keywords: tuple[str, ...]
    size: int  # input items, duplicates included
    unique_size: int  # distinct items after dedup
    exemplars: tuple[int, ...]  # indices into the input texts; most central first
    centroid: np.ndarray | None  # (dim,) unit vector in the embedding space


@dataclass(frozen=True, eq=False)
class ClusterRun:
    labels: np.ndarray  # (n,) label of every input item
    clusters: tuple[Cluster, ...]  # by label; the noise bucket, if any, last
    dedup: DedupResult
    fit: ClusterFit  # over the dedup representatives only
    manifest: dict[str, Any]

    @property
    def noise(self) -> Cluster | None:
        return next((c for c in self.clusters if c.label == NOISE), None)


def cluster_texts(
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    params: ClusterParams | None = None,
    dedup_threshold: float = DEFAULT_THRESHOLD,
    exemplar_count: int = 5,
    keyword_count: int = 5,
    model_id: str | None = None,
) -> ClusterRun:
    """Cluster ``texts`` (n,) with their unit ``vectors`` (n, dim); ``model_id`` goes to the manifest."""
    params = params or ClusterParams()
    timings: dict[str, float] = {}

    start = time.perf_counter()
    dedup = group_duplicates(texts, vectors, threshold=dedup_threshold)
    keep = dedup.keep
    timings["dedup_s"] = time.perf_counter() - start

    fit = fit_clusters(vectors[keep], params)
    timings.update(fit.timings)
    timings.pop("total_s", None)

    start = time.perf_counter()
    kept_texts = [texts[i] for i in keep]
    keywords = cluster_keywords(kept_texts, fit.labels, top_n=keyword_count)
    timings["naming_s"] = time.perf_counter() - start

    start = time.perf_counter()
    central = exemplars(vectors[keep], fit.labels, fit.centroids, k=exemplar_count)
    timings["exemplars_s"] = time.perf_counter() - start

    # Every item takes its representative's label: map kept position -> label, then broadcast.
    label_of_kept = np.full(len(texts), NOISE, dtype=np.int64)
    label_of_kept[keep] = fit.labels
    labels = label_of_kept[dedup.representative]

    clusters = []
    for label in [*sorted(fit.centroids), *([NOISE] if (fit.labels == NOISE).any() else [])]:
        in_fit = np.flatnonzero(fit.labels == label)
        words = tuple(keywords.get(label, []))
        chosen = central.get(label, [int(i) for i in in_fit[:exemplar_count]])  # noise: input order
        clusters.append(
            Cluster(
                label=label,
                name=NOISE_NAME if label == NOISE else cluster_name(words) or f"cluster {label}",
                keywords=words,
                size=int((labels == label).sum()),
                unique_size=len(in_fit),
                exemplars=tuple(int(keep[i]) for i in chosen),
                centroid=fit.centroids.get(label),
            )
        )

    timings["total_s"] = sum(timings.values())
    counts = {
        "items": len(texts),
        "exact_groups": dedup.exact_groups,
        "unique": len(keep),
        "clusters": fit.n_clusters,
        "noise_items": int((labels == NOISE).sum()),
        "noise_unique": fit.n_noise,
    }
    settings = {
        **dataclasses.asdict(params),
        "dedup_threshold": dedup_threshold,
        "exemplar_count": exemplar_count,
        "keyword_count": keyword_count,
    }
    manifest = run_manifest(
        settings, counts, timings, extra={"embedding_model": model_id, "embedding_dim": int(vectors.shape[1])}
    )
    return ClusterRun(labels, tuple(clusters), dedup, fit, manifest)
