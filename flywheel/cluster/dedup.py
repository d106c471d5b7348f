"""Duplicate grouping: exact (normalised text) first, then near duplicates by cosine similarity.

Only one representative per group goes on to clustering, so a failure that was flagged 500 times
with the same wording does not become a cluster by itself or drown its neighbours.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flywheel.errors import InvalidInput

DEFAULT_THRESHOLD = 0.95
DEFAULT_BLOCK_SIZE = 2048
LENGTH_MISMATCH = "Got {texts} texts but {vectors} vectors; they must be aligned row by row."

_SPACE_RE = re.compile(r"\s+")
# Punctuation and symbols at either end ("refund??", "...refund") carry no meaning for grouping;
# inside a text they can ("3.5 GB" vs "35 GB"), so those are left to the near-duplicate pass.
_EDGE_PUNCT_RE = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(text: str) -> str:
    """Canonical form for exact-duplicate grouping: NFKC, casefold, single spaces, no edge punctuation."""
    if text.isascii():  # NFKC is the identity on ASCII and casefold is lower(): the common case, fast
        text = " ".join(text.lower().split())
        # [\W_] is "not alphanumeric": strip such runs at both ends as the regex does.
        start, end = 0, len(text)
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        return text[start:end]
    text = unicodedata.normalize("NFKC", text).casefold()
    return _EDGE_PUNCT_RE.sub("", _SPACE_RE.sub(" ", text).strip())


def exact_key(text: str) -> str:
    return hashlib.sha256(normalise(text).encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class DedupResult:
    """``representative[i]`` is the index of item i's group representative (its earliest member)."""

    representative: np.ndarray  # (n,) int64
    exact_groups: int  # groups after the exact pass, before near duplicates merged them

    @property
    def keep(self) -> np.ndarray:
        """Indices that go forward, ascending: the representatives. Shape (groups,)."""
        return np.flatnonzero(self.representative == np.arange(len(self.representative)))

    @property
    def sizes(self) -> np.ndarray:
        """Group size per entry of ``keep``. Shape (groups,)."""
        counts = np.bincount(self.representative, minlength=len(self.representative))
        return counts[self.keep]


def group_duplicates(
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> DedupResult:
    """Group ``texts`` (with unit ``vectors`` of shape (n, dim)) into duplicate groups.

    Near duplicates are pairs with cosine >= ``threshold``; grouping is transitive (a ~ b ~ c puts
    all three together). Memory stays O(n + block_size**2) whatever n is.
    """
    n = len(texts)
    if vectors.shape[0] != n:
        raise InvalidInput(LENGTH_MISMATCH.format(texts=n, vectors=vectors.shape[0]))
    first_of: dict[str, int] = {}
    exact = np.fromiter((first_of.setdefault(normalise(t), i) for i, t in enumerate(texts)), np.int64, n)
    uniques = np.flatnonzero(exact == np.arange(n))
    near = _near_groups(np.ascontiguousarray(vectors[uniques], dtype=np.float32), threshold, block_size)
    # near[] holds positions within ``uniques``; the earliest position is the earliest text index.
    rep_of_unique = uniques[near]
    position = np.searchsorted(uniques, exact)
    return DedupResult(representative=rep_of_unique[position], exact_groups=len(uniques))


def _near_groups(vectors: np.ndarray, threshold: float, block_size: int) -> np.ndarray:
    """Component root (smallest member index) of each row under the cosine >= threshold graph."""
    m = len(vectors)
    root = np.arange(m)
    for r0 in range(0, m, block_size):
        rows = vectors[r0 : r0 + block_size]
        for c0 in range(r0, m, block_size):
            sims = rows @ vectors[c0 : c0 + block_size].T
            i, j = np.nonzero(sims >= threshold)
            i, j = i + r0, j + c0
            upper = i < j
            if upper.any():
                root = _merge(root, i[upper], j[upper])
    return root


def _merge(root: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Join the components of each edge (a, b); every root stays the smallest index of its component.

    Edges are mapped to current roots and solved as a small graph over the roots they touch, then
    one vectorised relabel keeps ``root`` flat — no Python loop over pairs.
    """
    ra, rb = root[a], root[b]
    touched, inverse = np.unique(np.concatenate([ra, rb]), return_inverse=True)
    k = len(touched)
    half = len(ra)
    graph = coo_matrix((np.ones(half, dtype=np.int8), (inverse[:half], inverse[half:])), shape=(k, k))
    _, comp = connected_components(graph, directed=False)
    smallest = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, comp, touched)  # touched is sorted, so this is each component's min root
    relabel = np.arange(len(root))
    relabel[touched] = smallest[comp]
    return relabel[root]
