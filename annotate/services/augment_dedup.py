"""Exact and near-duplicate checks of new samples (variants, generated rows) against the reviewed set.

The corpus is every sample of the project that is not discarded or superseded (proposed ones
included), plus every candidate kept so far in the run. A sample is represented by its
conversation without the system prompt, and its answer (:func:`sample_text`).

- *Exact*: the same content (prompt + answer, byte for byte) as any sample; or the same
  normalised text (case, spacing, edge punctuation: :func:`flywheel.cluster.dedup.normalise`)
  as a sample of *another* group.
- *Near*: MiniLM cosine >= the project's ``near_duplicate_threshold`` to a sample of another group.

Why "another group": a seed and its variants share a group key and stay on one side of every
split, so their closeness leaks nothing; and being close to the seed is what a variant is for
(a casing-only or one-typo variant normalises to, or embeds next to, its seed). Closeness to
anything *else* is the danger: such a pair could straddle train and test.

Vectors come from the embedding cache (:class:`flywheel.models.Embedding`, keyed by model and
text hash), so a sample is embedded once across runs. Memory: one float32 row per corpus
sample (384 floats for MiniLM: 150 MB at 100k samples); rows are read in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from annotate.augment.dedup import DuplicateIndex, sample_text
from annotate.augment.records import DropReason, Message
from annotate.models import Sample
from annotate.review.content import content_hash
from flywheel.cluster.embedding import Embedder, text_hash
from flywheel.errors import InvalidInput
from flywheel.models import Embedding, Project

READ_BATCH = 1000
TOO_MANY_NEW = "The duplicate check needs vectors for {n} samples that have none cached yet."
TOO_MANY_NEW_HINT = (
    "Embedding that many takes too long for a web request: run the recipe once from the command line "
    "(python manage.py augment ...); later runs here use the cached vectors."
)
EMBED_BATCH = 256


@dataclass(frozen=True)
class Candidate:
    prompt: Sequence[Message]
    answer: str
    group_key: str


class Deduper:
    """The project's live samples as a :class:`DuplicateIndex`, vectors from the embedding cache."""

    def __init__(self, *, project: Project, embedder: Embedder, threshold: float | None = None) -> None:
        self.project = project
        self.embedder = embedder
        self.index = DuplicateIndex(
            threshold=project.near_duplicate_threshold if threshold is None else threshold
        )

    def load(self, progress: Callable[[int], None] | None = None, *, max_new: int | None = None) -> int:
        """Reads the project's live samples; returns how many.

        ``max_new``: refuse (before embedding anything) when more samples than this have no cached
        vector yet. A web request passes it; the first command-line run fills the cache.
        """
        if max_new is not None:
            missing = self.uncached()
            if missing > max_new:
                raise InvalidInput(TOO_MANY_NEW.format(n=missing), hint=TOO_MANY_NEW_HINT)
        batch: list[tuple[Any, ...]] = []
        loaded = 0
        for row in self._rows().iterator(chunk_size=READ_BATCH):
            batch.append(row)
            if len(batch) >= READ_BATCH:
                loaded += self._load_batch(batch, progress)
                batch = []
        return loaded + (self._load_batch(batch, progress) if batch else 0)

    def uncached(self) -> int:
        """Live samples whose text has no vector in the cache yet."""
        model, missing = self.embedder.model_id, 0
        hashes: list[str] = []
        for prompt, answer, _, _ in self._rows().iterator(chunk_size=READ_BATCH):
            hashes.append(text_hash(model, sample_text(prompt or [], answer or "")))
            if len(hashes) >= READ_BATCH:
                missing += self._count_missing(hashes)
                hashes = []
        return missing + (self._count_missing(hashes) if hashes else 0)

    def judge(self, candidates: Sequence[Candidate]) -> list[DropReason | None]:
        """One verdict per candidate, in order; a kept candidate joins the corpus for the ones after it."""
        if not candidates:
            return []
        texts = [sample_text(c.prompt, c.answer) for c in candidates]
        raws = [content_hash(list(c.prompt), c.answer) for c in candidates]
        return self.index.judge(raws, texts, self.vectors(texts), [c.group_key for c in candidates])

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) unit rows, from the cache where it has them; new ones are cached."""
        model = self.embedder.model_id
        hashes = [text_hash(model, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), READ_BATCH):
            chunk = unique[start : start + READ_BATCH]
            cached = Embedding.objects.filter(model_id=model, text_hash__in=chunk).only("text_hash", "vector")
            for e in cached:
                found[e.text_hash] = np.frombuffer(bytes(e.vector), dtype=np.float32)
        missing = [h for h in unique if h not in found]
        if missing:
            text_of = dict(zip(hashes, texts, strict=True))
            for start in range(0, len(missing), EMBED_BATCH):
                chunk = missing[start : start + EMBED_BATCH]
                computed = self.embedder.embed([text_of[h] for h in chunk]).astype(np.float32)
                Embedding.objects.bulk_create(
                    [
                        Embedding(model_id=model, text_hash=h, dim=computed.shape[1], vector=v.tobytes())
                        for h, v in zip(chunk, computed, strict=True)
                    ],
                    ignore_conflicts=True,
                )
                found.update(zip(chunk, computed, strict=True))
        if not texts:
            return np.empty((0, self.embedder.dim), dtype=np.float32)
        return np.stack([found[h] for h in hashes])

    def _count_missing(self, hashes: list[str]) -> int:
        unique = set(hashes)
        cached = Embedding.objects.filter(model_id=self.embedder.model_id, text_hash__in=unique).count()
        return len(unique) - cached

    def _rows(self) -> QuerySet[Sample, tuple[Any, ...]]:
        return (
            Sample.objects.filter(project=self.project)
            .exclude(status__in=[Sample.Status.DISCARDED, Sample.Status.SUPERSEDED])
            .order_by("pk")
            .values_list("prompt", "answer", "group_key", "content_hash")
        )

    def _load_batch(self, rows: list[tuple[Any, ...]], progress: Callable[[int], None] | None) -> int:
        texts = [sample_text(prompt or [], answer or "") for prompt, answer, _, _ in rows]
        vectors = self.vectors(texts)
        for (_, _, group, raw), text, vector in zip(rows, texts, vectors, strict=True):
            self.index.add(raw, text, vector, group)
        if progress:
            progress(len(rows))
        return len(rows)
