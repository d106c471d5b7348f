"""Exact and near-duplicate removal across a release.

The rule (docs/release-format.md, "Hygiene"):

- Entries with the same normalised text (:func:`flywheel.cluster.dedup.normalise`) are exact
  duplicates: one of them stays, whatever their group keys (byte-identical content is pointless,
  within one group too).
- Two entries are near duplicates when their unit vectors have cosine >= ``threshold`` **and
  their group keys differ**. A seed and its variants share a group key by design, and most
  variants are that close to their seed; they are never removed for being close to each other.
- Grouping is transitive over those links (a ~ b ~ c puts all three together). In each group the
  entry with the lowest ``rank`` is kept (the pipeline ranks held-out items first, then items
  already released, then by key), and with it the best-ranked entry of every other distinct text
  of the group that shares the kept entry's group key. Every other entry is removed, attributed
  to the kept entry of its own text if it has one (an exact duplicate), else to the group's.

A first release compares all pairs of distinct texts, block by block (O(n^2) dot products, memory
O(block^2)). A later release whose predecessor was de-duplicated with the same model and threshold
knows that the entries it carried over are pairwise distinct across group keys; only pairs that
involve a new entry can link two texts, so the incremental pass compares new x all and finds the
same groups. Vectors stay in their :class:`VectorFile` on disk and are read a block at a time:
one copy, never all in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flywheel.cluster.dedup import DEFAULT_BLOCK_SIZE, normalise
from flywheel.errors import InvalidInput

LENGTH_MISMATCH = (
    "Got {texts} texts, {vectors} vectors, {known} known flags, {rank} ranks and {groups} group codes; "
    "they must align."
)
WIDTH_CHANGED = "vectors of width {width} after width {before}"


class VectorFile:
    """(n, dim) float32 rows appended batch by batch to a scratch file; read back by block or row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w+b")
        self.n = 0
        self.dim = 0

    def append(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if self.dim and block.shape[1] != self.dim:
            raise InvalidInput(WIDTH_CHANGED.format(width=block.shape[1], before=self.dim))
        self.dim = block.shape[1]
        self._file.write(block.tobytes())
        self.n += block.shape[0]

    def close(self) -> None:
        self._file.close()

    def block(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a fresh array (a read, not a mapping: memory is only the block)."""
        self._file.flush()
        stop = min(stop, self.n)
        count = max(0, stop - start)
        if count == 0 or not self.dim:
            return np.zeros((0, self.dim or 1), np.float32)
        width = self.dim * 4
        data = np.fromfile(self.path, dtype=np.float32, count=count * self.dim, offset=start * width)
        return data.reshape(count, self.dim)

    def rows(self, indices: np.ndarray) -> np.ndarray:
        self._file.flush()
        mapped = np.memmap(self.path, dtype=np.float32, mode="r", shape=(self.n, self.dim))
        out = np.array(mapped[np.asarray(indices)])
        del mapped
        return out

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, self.n, size):
            yield start, self.block(start, start + size)


class _Matrix:
    """An in-memory (n, dim) array behind the :class:`VectorFile` read interface."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._v = np.asarray(vectors, dtype=np.float32)
        self.n = self._v.shape[0]

    def block(self, start: int, stop: int) -> np.ndarray:
        return self._v[start:stop]

    def rows(self, indices: np.ndarray) -> np.ndarray:
        return self._v[indices]

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, self.n, size):
            yield start, self._v[start : start + size]


@dataclass(frozen=True, eq=False)
class Duplicates:
    """``representative[i]``: index of the entry kept for entry i (i itself when kept)."""

    representative: np.ndarray  # (n,) int64
    exact_groups: int  # distinct normalised texts
    mode: str  # "full" | "incremental"

    @property
    def keep(self) -> np.ndarray:
        """Boolean mask of the entries that stay, shape (n,)."""
        return self.representative == np.arange(len(self.representative))

    @property
    def exact_removed(self) -> int:
        return len(self.representative) - self.exact_groups

    @property
    def near_removed(self) -> int:
        return self.exact_groups - int(self.keep.sum())


def exact_codes(texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """(n,) int64: the same code for entries whose texts are equal once normalised, else different.

    Strings are normalised here; an array (of digests of normalised texts, any dtype) is taken as is.
    """
    keys = np.asarray(texts) if isinstance(texts, np.ndarray) else np.array([normalise(t) for t in texts])
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    _, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1)


def find_duplicates(
    texts: Sequence[str] | np.ndarray,
    vectors: VectorFile | np.ndarray,
    *,
    threshold: float,
    groups: np.ndarray | None = None,
    known: np.ndarray | None = None,
    rank: np.ndarray | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Duplicates:
    """Duplicates among ``texts`` (or their exact codes) with unit vectors (n, dim).

    ``groups`` (n,) int codes of the group keys (None: every entry its own group); ``known`` (n,)
    bool marks entries already known to be pairwise distinct across groups; ``rank`` (n,) orders
    the choice of the kept entry (default: the entry order).
    """
    n = len(texts)
    source = vectors if isinstance(vectors, VectorFile) else _Matrix(vectors)
    sizes = [source.n, *(len(a) if a is not None else n for a in (known, rank, groups))]
    if any(size != n for size in sizes):
        raise InvalidInput(
            LENGTH_MISMATCH.format(texts=n, vectors=sizes[0], known=sizes[1], rank=sizes[2], groups=sizes[3])
        )
    if n == 0:
        return Duplicates(np.zeros(0, dtype=np.int64), 0, "full")
    cls = exact_codes(texts)
    order = np.arange(n) if rank is None else np.asarray(rank, dtype=np.int64)
    group = np.arange(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    classes = int(cls.max()) + 1
    first = np.full(classes, n, dtype=np.int64)
    np.minimum.at(first, cls, np.arange(n))
    is_first = np.zeros(n, dtype=bool)
    is_first[first] = True
    # A text whose entries span several group keys links to every other text (its own group is -1).
    class_group = group[first].copy()
    mixed = group != class_group[cls]
    class_group[np.unique(cls[mixed])] = -1
    incremental = known is not None and bool(np.asarray(known).any())
    if incremental:
        fresh = np.flatnonzero(~np.asarray(known, dtype=bool) & is_first)
        pairs = _fresh_pairs(source, fresh, is_first, threshold, block_size)
    else:
        pairs = _all_pairs(source, is_first, threshold, block_size)
    a, b = cls[pairs[0]], cls[pairs[1]]
    ga, gb = class_group[a], class_group[b]
    linked = (a != b) & ((ga != gb) | (ga < 0))
    component = _components(a[linked], b[linked], classes)[cls]
    representative = _choose(component, cls, group, order)
    return Duplicates(representative, classes, "incremental" if incremental else "full")


def _all_pairs(
    source: VectorFile | _Matrix, use: np.ndarray, threshold: float, block_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of rows marked ``use`` with cosine >= threshold: the upper triangle."""
    rows_out, cols_out = [], []
    n = source.n
    for r0 in range(0, n, block_size):
        rows = source.block(r0, r0 + block_size)
        for c0 in range(r0, n, block_size):
            cols = rows if c0 == r0 else source.block(c0, c0 + block_size)
            i, j = np.nonzero(rows @ cols.T >= threshold)
            i, j = i + r0, j + c0
            keep = (i < j) & use[i] & use[j]
            rows_out.append(i[keep])
            cols_out.append(j[keep])
    return _cat(rows_out), _cat(cols_out)


def _fresh_pairs(
    source: VectorFile | _Matrix, fresh: np.ndarray, use: np.ndarray, threshold: float, block_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (fresh row, any used row) with cosine >= threshold."""
    rows_out, cols_out = [], []
    if len(fresh):
        fresh_vectors = source.rows(fresh)
        for c0, block in source.blocks(block_size):
            for r0 in range(0, len(fresh), block_size):
                i, j = np.nonzero(fresh_vectors[r0 : r0 + block_size] @ block.T >= threshold)
                i, j = fresh[i + r0], j + c0
                keep = (i != j) & use[j]
                rows_out.append(i[keep])
                cols_out.append(j[keep])
    return _cat(rows_out), _cat(cols_out)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _components(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    return component.astype(np.int64)


def _first_by(keys: np.ndarray, rank: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct key among ``members``: (the key, its lowest-ranked member)."""
    order = members[np.lexsort((rank[members], keys[members]))]
    head = np.ones(len(order), dtype=bool)
    head[1:] = keys[order][1:] != keys[order][:-1]
    return keys[order][head], order[head]


def _choose(component: np.ndarray, cls: np.ndarray, group: np.ndarray, rank: np.ndarray) -> np.ndarray:
    n = len(component)
    everyone = np.arange(n)
    comps, reps = _first_by(component, rank, everyone)
    rep_of = np.empty(int(component.max()) + 1, dtype=np.int64)
    rep_of[comps] = reps
    rep = rep_of[component]
    # Other texts of the group keep their best entry of the kept entry's group key.
    same_key = np.flatnonzero((group == group[rep]) & (cls != cls[rep]))
    kept = rep == everyone
    if len(same_key):
        _, best = _first_by(cls, rank, same_key)
        kept[best] = True
    kept_of_class = np.full(int(cls.max()) + 1, -1, dtype=np.int64)
    kept_of_class[cls[kept]] = everyone[kept]
    own = kept_of_class[cls]
    return np.where(kept, everyone, np.where(own >= 0, own, rep))
