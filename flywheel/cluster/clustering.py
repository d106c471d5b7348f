"""Clustering stage: UMAP (cosine, ~5-d) → HDBSCAN → refinement in the original embedding space.

Shapes: ``vectors`` is ``(n, dim)`` float32 with unit rows; every label array is ``(n,)`` int64 with
``NOISE`` (-1) for points that belong to no cluster. Centroids always live in the original
``dim``-d space (unit length), never in the UMAP space, so they can be stored and used to assign
new points without keeping the UMAP model around.

Why these steps (measured on CLINC150, see ``bench/cluster_quality.py``):
- HDBSCAN on raw 384-d vectors does not scale and PCA first collapses real text; UMAP to 5-d
  with the cosine metric is what works.
- HDBSCAN alone leaves ~5% of ordinary points as noise, and UMAP glues a few outliers onto
  clusters. One rule fixes both: a point belongs to a cluster only if the cluster's centroid is
  its nearest and their cosine is at least ``min_similarity``. HDBSCAN noise that passes joins
  the cluster; members that fail become noise, so isolated failures stay visible instead of
  being forced into the nearest cluster. ``assign_to_centroids`` applies the same rule to new points.
- UMAP distorts some neighbourhoods; a few spherical k-means steps in the original space, seeded
  with HDBSCAN's clusters (so k is still found, not given), move boundary points to the cluster
  whose centroid they are really closest to.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from flywheel.errors import ConfigError, InvalidInput

NOISE = -1
DEFAULT_MIN_SIMILARITY = 0.35
BAD_VECTORS = "Expected a 2-d array of embeddings, got shape {shape}."
_BLOCK_ROWS = 4096  # rows per similarity block: bounds the (rows, k) scratch matrix


@dataclass(frozen=True)
class ClusterParams:
    """Tuned on CLINC150 (4.5k queries / 150 intents, plus 1k out-of-scope), UMAP seeds 42, 7, 123.

    Scores were flat (±0.01 ARI) around these values; see bench/cluster_quality.py --sweep.
    """

    n_neighbors: int = 20  # UMAP neighbourhood; 10-30 all within ±0.015 ARI, 20 best
    n_components: int = 5  # 10-d was no better and slows HDBSCAN
    min_dist: float = 0.0  # pack clusters tightly: we cluster the layout, we do not plot it
    min_cluster_size: int = 12  # smallest group reported as a cluster; 15 merged related intents
    min_samples: int | None = 5  # below min_cluster_size, so fewer ordinary points are noise
    cluster_selection_epsilon: float = 0.0
    cluster_selection_method: Literal["eom", "leaf"] = "leaf"  # eom merged related intents
    refine_iterations: int = 10  # spherical k-means steps in the original space; 0 disables
    # Cosine to the nearest centroid needed to be in a cluster; None keeps HDBSCAN's noise as is.
    # 0.30 left fewer strays in noise; 0.40 also pushed more ordinary points there (see the bench).
    min_similarity: float | None = DEFAULT_MIN_SIMILARITY
    seed: int = 42

    def __post_init__(self) -> None:
        problems = []
        if self.n_neighbors < 2:
            problems.append("n_neighbors must be >= 2")
        if self.n_components < 1:
            problems.append("n_components must be >= 1")
        if self.min_cluster_size < 2:
            problems.append("min_cluster_size must be >= 2")
        if self.min_samples is not None and self.min_samples < 1:
            problems.append("min_samples must be >= 1 or None")
        if self.cluster_selection_method not in ("eom", "leaf"):
            problems.append("cluster_selection_method must be 'eom' or 'leaf'")
        if self.min_similarity is not None and not -1.0 <= self.min_similarity <= 1.0:
            problems.append("min_similarity must be a cosine in [-1, 1] or None")
        if problems:
            raise ConfigError("Invalid clustering parameters: " + "; ".join(problems) + ".")


@dataclass(frozen=True, eq=False)
class ClusterFit:
    """Result of one clustering run. Labels are 0..k-1 by decreasing size, ``NOISE`` for noise."""

    labels: np.ndarray  # (n,) int64
    centroids: dict[int, np.ndarray]  # label -> (dim,) float32, unit length, original space
    similarity: np.ndarray  # (n,) float32 cosine to the own centroid; 0 for noise
    probabilities: np.ndarray  # (n,) HDBSCAN membership strength before refinement; 0 for its noise
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)

    @property
    def n_noise(self) -> int:
        return int((self.labels == NOISE).sum())


def fit_clusters(vectors: np.ndarray, params: ClusterParams | None = None) -> ClusterFit:
    """Cluster unit ``vectors`` (n, dim). Deterministic for a given ``params.seed``."""
    params = params or ClusterParams()
    vectors = _check(vectors)
    n = len(vectors)
    timings: dict[str, float] = {}
    if n < max(params.min_cluster_size, params.n_components + 2):
        # Too few points to find a cluster (UMAP's spectral layout also needs n > dims + 1).
        return _finish(vectors, np.full(n, NOISE, dtype=np.int64), np.zeros(n), timings)

    start = time.perf_counter()
    reduced = _reduce(vectors, params)
    timings["reduce_s"] = time.perf_counter() - start

    start = time.perf_counter()
    labels, probabilities = _hdbscan(reduced, params)
    timings["hdbscan_s"] = time.perf_counter() - start

    start = time.perf_counter()
    if params.min_similarity is not None:
        labels = _absorb_noise(vectors, labels, params.min_similarity)
    labels = _refine(vectors, labels, params.refine_iterations)
    if params.min_similarity is not None:
        labels = _eject_outliers(vectors, labels, params.min_similarity)
    timings["refine_s"] = time.perf_counter() - start
    return _finish(vectors, labels, probabilities, timings)


def assign_to_centroids(
    vectors: np.ndarray,
    centroids: Mapping[int, np.ndarray],
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> np.ndarray:
    """Label each row (n, dim) with its nearest centroid, or ``NOISE`` if the cosine is below the cut.

    The incremental path between full re-clusters: O(n · k · dim), no UMAP involved.
    """
    vectors = _check(vectors)
    if not centroids:
        return np.full(len(vectors), NOISE, dtype=np.int64)
    keys = np.array(sorted(centroids), dtype=np.int64)
    matrix = np.stack([np.asarray(centroids[k], dtype=np.float32) for k in keys])
    nearest, sims = _nearest(vectors, matrix)
    return np.where(sims >= min_similarity, keys[nearest], NOISE).astype(np.int64)


def centroids_of(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Unit mean vector per non-noise label, in the space of ``vectors``."""
    keys, matrix = _centroid_matrix(vectors, labels)
    return {int(k): row for k, row in zip(keys, matrix, strict=True)}


def _check(vectors: np.ndarray) -> np.ndarray:
    """float32 (n, dim) with unit rows: every similarity below is a dot product."""
    if vectors.ndim != 2:
        raise InvalidInput(BAD_VECTORS.format(shape=vectors.shape))
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms == 0, 1.0, norms))


def _reduce(vectors: np.ndarray, params: ClusterParams) -> np.ndarray:
    import umap  # numba JIT on first use costs ~20 s: import only when clustering

    reducer = umap.UMAP(
        n_neighbors=min(params.n_neighbors, len(vectors) - 1),
        n_components=params.n_components,
        min_dist=params.min_dist,
        metric="cosine",
        random_state=params.seed,
        n_jobs=1,  # a seed forces one thread anyway; saying so avoids UMAP's warning
    )
    with warnings.catch_warnings():
        # Tiny or disconnected inputs make the spectral init fall back to random (still seeded).
        warnings.filterwarnings("ignore", message=".*[Ss]pectral.*")
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float64)


def _hdbscan(reduced: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    import hdbscan

    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=params.min_cluster_size,
        min_samples=params.min_samples,
        cluster_selection_epsilon=params.cluster_selection_epsilon,
        cluster_selection_method=params.cluster_selection_method,
        core_dist_n_jobs=1,  # results do not depend on it; keeps the run single-threaded like UMAP
    )
    labels = clusterer.fit_predict(reduced).astype(np.int64)
    return labels, np.asarray(clusterer.probabilities_, dtype=np.float32)


def _absorb_noise(vectors: np.ndarray, labels: np.ndarray, min_similarity: float) -> np.ndarray:
    noise = np.flatnonzero(labels == NOISE)
    centroids = centroids_of(vectors, labels)
    if len(noise) == 0 or not centroids:
        return labels
    out = labels.copy()
    out[noise] = assign_to_centroids(vectors[noise], centroids, min_similarity=min_similarity)
    return out


def _eject_outliers(vectors: np.ndarray, labels: np.ndarray, min_similarity: float) -> np.ndarray:
    keys, matrix = _centroid_matrix(vectors, labels)
    members = np.flatnonzero(labels != NOISE)
    if len(members) == 0:
        return labels
    own = matrix[np.searchsorted(keys, labels[members])]
    sims = np.einsum("ij,ij->i", vectors[members], own)
    out = labels.copy()
    out[members[sims < min_similarity]] = NOISE
    return out


def _refine(vectors: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Spherical k-means steps over the clustered points; noise stays noise, k never grows."""
    members = np.flatnonzero(labels != NOISE)
    for _ in range(iterations):
        keys, matrix = _centroid_matrix(vectors, labels)
        if len(keys) < 2:
            break
        nearest, _ = _nearest(vectors[members], matrix)
        moved = keys[nearest]
        if np.array_equal(moved, labels[members]):
            break
        labels = labels.copy()
        labels[members] = moved
    return labels


def _finish(
    vectors: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, timings: dict[str, float]
) -> ClusterFit:
    """Renumber clusters 0..k-1 by decreasing size (ties: earliest member first) and attach centroids."""
    keys, first, inverse, size = np.unique(labels, return_index=True, return_inverse=True, return_counts=True)
    order = sorted(range(len(keys)), key=lambda i: (keys[i] == NOISE, -size[i], first[i]))
    new_of = np.empty(len(keys), dtype=np.int64)
    new_of[order] = np.arange(len(keys))
    new_of[keys == NOISE] = NOISE
    renumbered = new_of[inverse]
    centroids = centroids_of(vectors, renumbered)
    similarity = np.zeros(len(vectors), dtype=np.float32)
    clustered = renumbered != NOISE
    if centroids:
        matrix = np.stack([centroids[k] for k in range(len(centroids))])
        similarity[clustered] = np.einsum("ij,ij->i", vectors[clustered], matrix[renumbered[clustered]])
    timings = {**timings, "total_s": sum(timings.values())}
    return ClusterFit(renumbered, centroids, similarity, probabilities.astype(np.float32), timings)


def _centroid_matrix(vectors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted non-noise labels (k,), unit centroids (k, dim))."""
    members = np.flatnonzero(labels != NOISE)
    order = members[np.argsort(labels[members], kind="stable")]
    keys, starts = np.unique(labels[order], return_index=True)
    if len(keys) == 0:
        return keys.astype(np.int64), np.zeros((0, vectors.shape[1]), dtype=np.float32)
    sums = np.add.reduceat(vectors[order].astype(np.float64), starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return keys, (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _nearest(vectors: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index and cosine of the most similar row of ``matrix`` (k, dim) for each vector (n, dim)."""
    index = np.empty(len(vectors), dtype=np.int64)
    sims = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), _BLOCK_ROWS):
        block = vectors[start : start + _BLOCK_ROWS] @ matrix.T
        index[start : start + len(block)] = block.argmax(axis=1)  # ties: lowest label
        sims[start : start + len(block)] = block[np.arange(len(block)), index[start : start + len(block)]]
    return index, sims
