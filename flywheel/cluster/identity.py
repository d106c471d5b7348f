"""Stable cluster identity across re-clustering runs.

A full re-cluster renumbers everything, but a reviewer has named clusters and tracked them over
time. Each new cluster is matched one-to-one to an old one: first by member overlap (Jaccard on
member keys, e.g. failure ids — the strongest evidence that it is "the same cluster"), then,
among the clusters still unmatched, by centroid cosine (a cluster whose members all changed but
that sits in the same place). Unmatched new clusters are new; unmatched old ones retired.

Splits and merges fall out of the one-to-one rule: when an old cluster splits, the part with the
larger overlap keeps its identity and the other part is new (or matches another old cluster);
when two old clusters merge, the new cluster takes the one it overlaps most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

DEFAULT_MIN_OVERLAP = 0.3
DEFAULT_MIN_SIMILARITY = 0.85

OldId = TypeVar("OldId", int, str)
NewId = TypeVar("NewId", int, str)


@dataclass(frozen=True, eq=False)
class ClusterProfile:
    """What identity matching needs to know of a cluster: its members and its centre (dim,)."""

    member_keys: frozenset[str]
    centroid: np.ndarray


OldCluster = ClusterProfile
NewCluster = ClusterProfile


def match_clusters(
    old: Mapping[OldId, ClusterProfile],
    new: Mapping[NewId, ClusterProfile],
    *,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> dict[NewId, OldId | None]:
    """Map every new cluster id to the old id it continues, or ``None`` if it is new.

    One-to-one and deterministic: ids are processed in sorted order and both passes solve an
    assignment problem (Hungarian method) maximising total Jaccard, then total cosine.
    """
    old_ids, new_ids = sorted(old), sorted(new)
    result: dict[NewId, OldId | None] = dict.fromkeys(new_ids)
    if not old_ids or not new_ids:
        return result

    overlap = _jaccard(old, old_ids, new, new_ids)  # (new, old)
    for i, j in _assign(overlap, min_overlap):
        result[new_ids[i]] = old_ids[j]

    taken = set(result.values())
    rest_new = [n for n in new_ids if result[n] is None]
    rest_old = [o for o in old_ids if o not in taken]
    if rest_new and rest_old:
        similarity = (
            _unit(np.stack([new[n].centroid for n in rest_new]))
            @ _unit(np.stack([old[o].centroid for o in rest_old])).T
        )
        for i, j in _assign(similarity, min_similarity):
            result[rest_new[i]] = rest_old[j]
    return result


def _jaccard(
    old: Mapping[OldId, ClusterProfile],
    old_ids: list[OldId],
    new: Mapping[NewId, ClusterProfile],
    new_ids: list[NewId],
) -> np.ndarray:
    """Jaccard index of member keys, (new, old). Linear in total membership, not in clusters²."""
    column_of: dict[str, list[int]] = {}
    for j, oid in enumerate(old_ids):
        for key in old[oid].member_keys:
            column_of.setdefault(key, []).append(j)
    intersection = np.zeros((len(new_ids), len(old_ids)))
    for i, nid in enumerate(new_ids):
        for key in new[nid].member_keys:
            for j in column_of.get(key, ()):
                intersection[i, j] += 1
    new_sizes = np.array([len(new[n].member_keys) for n in new_ids], dtype=np.float64)
    old_sizes = np.array([len(old[o].member_keys) for o in old_ids], dtype=np.float64)
    union = new_sizes[:, None] + old_sizes[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def _assign(score: np.ndarray, minimum: float) -> list[tuple[int, int]]:
    """Pairs (row, col) of a maximum-total assignment, keeping only pairs scoring >= minimum.

    Pairs under the minimum are zeroed first so they cannot pull the optimum away from pairs that
    qualify.
    """
    eligible = np.where(score >= minimum, score, 0.0)
    rows, cols = linear_sum_assignment(eligible, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if score[r, c] >= minimum]


def _unit(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
