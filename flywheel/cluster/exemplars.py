"""Exemplars: the members closest to each cluster's centroid, shown to a reviewer as its face."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from flywheel.cluster.clustering import NOISE


def exemplars(
    vectors: np.ndarray, labels: np.ndarray, centroids: Mapping[int, np.ndarray], k: int = 5
) -> dict[int, list[int]]:
    """Up to ``k`` row indices per cluster, most central first (ties: lower index first).

    ``vectors`` (n, dim) unit rows, ``labels`` (n,), ``centroids`` label -> (dim,) unit vector.
    The noise bucket has no centre, so it gets no entry.
    """
    out: dict[int, list[int]] = {}
    for label in sorted(centroids):
        if label == NOISE:
            continue
        members = np.flatnonzero(labels == label)
        sims = vectors[members] @ np.asarray(centroids[label], dtype=np.float32)
        # lexsort: last key is primary → by similarity descending, then by index ascending.
        ranked = members[np.lexsort((members, -sims))]
        out[label] = [int(i) for i in ranked[:k]]
    return out
