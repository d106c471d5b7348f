"""Duplicate checks of new samples against a corpus and each other, plain numpy (no Django).

The rule (the service's docstring says why): a candidate is an *exact* duplicate when its content
hash is any corpus entry's, or its normalised text is an entry's of another group; a *near*
duplicate when its vector's cosine to an entry of another group reaches the threshold. A kept
candidate joins the corpus, so later candidates are checked against it too.

A batch is judged with one matrix product per corpus block (candidates x block), then a small
candidates x candidates product for the ones kept within the batch; memory stays
O(corpus + block x batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from annotate.augment.records import DropReason, Message
from flywheel.cluster.dedup import exact_key

BLOCK = 8192
_SEVERAL = ""  # a normalised text of several groups: a duplicate for everyone


def sample_text(prompt: Sequence[Message], answer: str) -> str:
    """What a sample is compared by: its conversation without the system prompt, and its answer."""
    turns = [str(m.get("content") or "") for m in prompt if m.get("role") != "system"]
    return "\n".join([*turns, answer]).strip()


class DuplicateIndex:
    def __init__(self, *, threshold: float) -> None:
        self.threshold = threshold
        self._raw: set[str] = set()
        self._exact: dict[str, str] = {}
        self._group_ids: dict[str, int] = {}
        self._vectors = np.empty((0, 0), dtype=np.float32)
        self._groups = np.empty(0, dtype=np.int64)
        self.size = 0

    def add(self, raw: str, text: str, vector: np.ndarray, group: str) -> None:
        """One corpus entry: its content hash, text (for the exact key), unit vector and group key."""
        self._remember(raw, text, group)
        self._push(vector, group)

    def _remember(self, raw: str, text: str, group: str) -> None:
        self._raw.add(raw)
        key = exact_key(text)
        owner = self._exact.get(key)
        self._exact[key] = group if owner in (None, group) else _SEVERAL

    def _push(self, vector: np.ndarray, group: str) -> None:
        if self.size == len(self._vectors):
            grown = np.empty((max(1024, 2 * self.size), len(vector)), dtype=np.float32)
            codes = np.empty(len(grown), dtype=np.int64)
            if self.size:
                grown[: self.size], codes[: self.size] = self._vectors[: self.size], self._groups[: self.size]
            self._vectors, self._groups = grown, codes
        self._vectors[self.size] = vector
        self._groups[self.size] = self._group_id(group)
        self.size += 1

    def judge(
        self, raws: Sequence[str], texts: Sequence[str], vectors: np.ndarray, groups: Sequence[str]
    ) -> list[DropReason | None]:
        """Verdicts in order (None: kept, and added to the corpus). ``vectors``: (n, dim) unit rows."""
        n = len(raws)
        if n == 0:
            return []
        codes = np.array([self._group_id(g) for g in groups], dtype=np.int64)
        near_corpus = self._near_corpus(np.asarray(vectors, dtype=np.float32), codes)
        within = np.asarray(vectors, dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
        verdicts: list[DropReason | None] = []
        kept: list[int] = []
        for i in range(n):
            owner = self._exact.get(exact_key(texts[i]))
            if raws[i] in self._raw or (owner is not None and owner != groups[i]):
                verdicts.append(DropReason.EXACT_DUPLICATE)
                continue
            close_to_kept = any(within[i, j] >= self.threshold and codes[j] != codes[i] for j in kept)
            if near_corpus[i] or close_to_kept:
                verdicts.append(DropReason.NEAR_DUPLICATE)
                continue
            kept.append(i)
            self._remember(raws[i], texts[i], groups[i])  # now: a later twin in this batch is exact
            verdicts.append(None)
        for i in kept:
            self._push(vectors[i], groups[i])
        return verdicts

    def _near_corpus(self, vectors: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """(n,) bool: the candidate is near an existing entry of another group."""
        near = np.zeros(len(vectors), dtype=bool)
        for start in range(0, self.size, BLOCK):
            stop = min(self.size, start + BLOCK)
            sims = self._vectors[start:stop] @ vectors.T  # (block, n)
            other = self._groups[start:stop, None] != codes[None, :]
            near |= np.any((sims >= self.threshold) & other, axis=0)
        return near

    def _group_id(self, group: str) -> int:
        return self._group_ids.setdefault(group, len(self._group_ids))
