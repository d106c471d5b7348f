"""Exact and near-duplicate removal across a release, on the clustering issue's dedup.

Groups are found in any entry order (grouping is transitive, as in
:func:`flywheel.cluster.dedup.group_duplicates`, and its groups do not depend on the order);
the entry kept of each group is the one with the lowest ``rank`` (the pipeline ranks held-out
items first, then items already released, then by key).

A first release compares all pairs with ``group_duplicates``. A later release whose predecessor
was de-duplicated with the same model and threshold knows that the items it carried over are
pairwise distinct; only pairs involving a new item can be duplicates, so the incremental pass
compares new x all instead of all x all and finds the same groups. It reads the carried-over
vectors block by block from the :class:`VectorFile`, so its memory is the new vectors and one block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flywheel.cluster.dedup import DEFAULT_BLOCK_SIZE, group_duplicates, normalise
from flywheel.errors import InvalidInput

LENGTH_MISMATCH = (
    "Got {texts} texts, {vectors} vectors, {known} known flags and {rank} ranks; they must align."
)


class VectorFile:
    """(n, dim) float32 rows appended batch by batch to a scratch file; read back whole or by block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        self.n = 0
        self.dim = 0

    def append(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if self.dim and block.shape[1] != self.dim:
            raise InvalidInput(f"vectors of width {block.shape[1]} after width {self.dim}")
        self.dim = block.shape[1]
        self._file.write(block.tobytes())
        self.n += block.shape[0]

    def close(self) -> None:
        self._file.close()

    def load(self) -> np.ndarray:
        self._file.flush()
        return np.fromfile(self.path, dtype=np.float32).reshape(self.n, self.dim or 1)

    def rows(self, indices: np.ndarray) -> np.ndarray:
        self._file.flush()
        mapped = np.memmap(self.path, dtype=np.float32, mode="r", shape=(self.n, self.dim))
        return np.array(mapped[indices])

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        self._file.flush()
        width = self.dim * 4
        with self.path.open("rb") as handle:
            for start in range(0, self.n, size):
                count = min(size, self.n - start)
                handle.seek(start * width)
                yield (
                    start,
                    np.frombuffer(handle.read(count * width), dtype=np.float32).reshape(count, self.dim),
                )


@dataclass(frozen=True, eq=False)
class Duplicates:
    """``representative[i]``: index of the entry kept for entry i's group (i itself when kept)."""

    representative: np.ndarray  # (n,) int64
    exact_groups: int  # groups after the exact pass
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


def find_duplicates(
    texts: Sequence[str],
    vectors: VectorFile | np.ndarray,
    *,
    threshold: float,
    known: np.ndarray | None = None,
    rank: np.ndarray | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Duplicates:
    """Duplicate groups of ``texts`` with unit vectors (n, dim). ``known`` (n,) bool marks entries
    already known to be pairwise distinct; ``rank`` (n,) orders the choice of the kept entry
    (default: the entry order)."""
    n = len(texts)
    sizes = (
        vectors.n if isinstance(vectors, VectorFile) else vectors.shape[0],
        *(len(a) if a is not None else n for a in (known, rank)),
    )
    if any(size != n for size in sizes):
        raise InvalidInput(LENGTH_MISMATCH.format(texts=n, vectors=sizes[0], known=sizes[1], rank=sizes[2]))
    if n == 0:
        return Duplicates(np.zeros(0, dtype=np.int64), 0, "full")
    rank = np.arange(n) if rank is None else np.asarray(rank)
    if known is None or not known.any():
        matrix = vectors.load() if isinstance(vectors, VectorFile) else vectors
        result = group_duplicates(texts, matrix, threshold=threshold, block_size=block_size)
        return Duplicates(_kept_by_rank(result.representative, rank), result.exact_groups, "full")
    groups, exact = _incremental(texts, vectors, threshold, known, block_size)
    return Duplicates(_kept_by_rank(groups, rank), exact, "incremental")


def _kept_by_rank(groups: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Same groups, each represented by its lowest-ranked member."""
    order = np.lexsort((rank, groups))  # by group, then rank
    first = np.ones(len(order), dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    best = np.empty(int(groups.max()) + 1, dtype=np.int64)
    best[groups[order][first]] = order[first]
    return best[groups]


def _incremental(
    texts: Sequence[str],
    vectors: VectorFile | np.ndarray,
    threshold: float,
    known: np.ndarray,
    block_size: int,
) -> tuple[np.ndarray, int]:
    n = len(texts)
    first_of: dict[str, int] = {}
    exact = np.fromiter((first_of.setdefault(normalise(t), i) for i, t in enumerate(texts)), np.int64, n)
    # A text whose first entry is new may be near anything; two known ones never are.
    unique = exact == np.arange(n)
    fresh = np.flatnonzero(~known & unique)
    rows, cols = [np.flatnonzero(~unique)], [exact[~unique]]
    if len(fresh):
        fresh_vectors = vectors.rows(fresh) if isinstance(vectors, VectorFile) else vectors[fresh]
        blocks = (
            vectors.blocks(block_size) if isinstance(vectors, VectorFile) else _blocks(vectors, block_size)
        )
        for c0, block in blocks:
            for r0 in range(0, len(fresh), block_size):
                sims = fresh_vectors[r0 : r0 + block_size] @ block.T
                i, j = np.nonzero(sims >= threshold)
                i, j = fresh[i + r0], j + c0
                # As in group_duplicates, a text's vector is its first entry's (its copies join by text).
                edge = (i != j) & unique[j]
                rows.append(i[edge])
                cols.append(j[edge])
    a, b = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    return component.astype(np.int64), len(first_of)


def _blocks(vectors: np.ndarray, size: int) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(vectors), size):
        yield start, vectors[start : start + size]
