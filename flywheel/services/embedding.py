"""Embedding flagged failures: the text that represents a failure, and a cache keyed by its hash."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.db import transaction

from flywheel.cluster.dedup import exact_key
from flywheel.cluster.embedding import Embedder, SentenceTransformerEmbedder, text_hash
from flywheel.ingest.conversation import final_answer, last_user_message
from flywheel.models import Embedding, Failure, Project

EMBED_BATCH = 256


def embed_text_of(conversation: Sequence[dict], mode: str) -> str:
    """The text a failure is embedded by (the project's ``embed_text`` setting)."""
    user = last_user_message(conversation) or ""  # type: ignore[arg-type]
    answer = final_answer(conversation) or ""  # type: ignore[arg-type]
    if mode == Project.EmbedText.ANSWER:
        return answer or user
    if mode == Project.EmbedText.LAST_USER:
        return user or answer
    if mode == Project.EmbedText.CONVERSATION:
        return "\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in conversation)
    return f"{user}\n{answer}".strip()


@lru_cache(maxsize=2)
def default_embedder() -> Embedder:
    return SentenceTransformerEmbedder(settings.EMBEDDING_MODEL_PATH or None)


def failures_embed(
    *, project: Project, embedder: Embedder, progress: Callable[[int], None] | None = None
) -> int:
    """Gives every active failure its text and vector; returns how many vectors were computed.

    Vectors are cached by (model, text hash): an unchanged failure is never embedded twice,
    and the same text in two failures is embedded once. Batches keep memory bounded.
    """
    computed = 0
    last_pk = 0
    while True:
        batch = list(
            Failure.objects.filter(project=project, active=True, pk__gt=last_pk)
            .select_related("trace", "embedding")
            .order_by("pk")[:EMBED_BATCH]
        )
        if not batch:
            return computed
        last_pk = batch[-1].pk
        computed += _embed_batch(batch, project.embed_text, embedder)
        if progress:
            progress(len(batch))


def _embed_batch(batch: list[Failure], mode: str, embedder: Embedder) -> int:
    texts = {f.pk: embed_text_of(f.trace.conversation, mode) for f in batch}
    hashes = {pk: text_hash(embedder.model_id, text) for pk, text in texts.items()}
    cached = {
        e.text_hash: e
        for e in Embedding.objects.filter(model_id=embedder.model_id, text_hash__in=set(hashes.values()))
    }
    missing = {h: texts[pk] for pk, h in hashes.items() if h not in cached}
    if missing:
        order = sorted(missing)
        vectors = embedder.embed([missing[h] for h in order])
        Embedding.objects.bulk_create(
            [
                Embedding(model_id=embedder.model_id, text_hash=h, dim=vectors.shape[1], vector=v.tobytes())
                for h, v in zip(order, vectors.astype(np.float32), strict=True)
            ],
            ignore_conflicts=True,
        )
        fresh = Embedding.objects.filter(model_id=embedder.model_id, text_hash__in=order)
        cached.update({e.text_hash: e for e in fresh})
    changed = []
    for failure in batch:
        text, embedding = texts[failure.pk], cached[hashes[failure.pk]]
        if (failure.embed_text, failure.embedding_id) != (text, embedding.pk):
            failure.embed_text, failure.embedding, failure.dedup_key = text, embedding, exact_key(text)
            changed.append(failure)
    with transaction.atomic():
        Failure.objects.bulk_update(changed, ["embed_text", "embedding", "dedup_key"])
    return len(missing)


def vectors_of(failures: Sequence[Failure]) -> np.ndarray:
    """(n, dim) float32 matrix of the failures' cached vectors, in order."""
    return np.stack([np.frombuffer(bytes(f.embedding.vector), dtype=np.float32) for f in failures])  # type: ignore[union-attr]
