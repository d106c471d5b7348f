"""The duplicate index: exact and near duplicates count only across groups (a seed's family is exempt)."""

from __future__ import annotations

import numpy as np

from annotate.augment.dedup import DuplicateIndex
from annotate.augment.records import DropReason
from flywheel.cluster.embedding import HashingEmbedder

EMBED = HashingEmbedder(128)
EXACT, NEAR = DropReason.EXACT_DUPLICATE, DropReason.NEAR_DUPLICATE


def index_of(*entries: tuple[str, str], threshold: float = 0.9) -> DuplicateIndex:
    index = DuplicateIndex(threshold=threshold)
    for text, group in entries:
        index.add(f"raw:{text}", text, EMBED.embed([text])[0], group)
    return index


def judge(index: DuplicateIndex, *candidates: tuple[str, str]) -> list[DropReason | None]:
    texts = [t for t, _ in candidates]
    return index.judge([f"raw:{t}" for t in texts], texts, EMBED.embed(texts), [g for _, g in candidates])


def test_same_content_anywhere_is_an_exact_duplicate_even_in_the_same_group():
    index = index_of(("where is order A1", "g1"))
    assert judge(index, ("where is order A1", "g1")) == [EXACT]


def test_a_normalised_twin_is_a_duplicate_of_another_group_but_fine_in_its_own():
    index = index_of(("Where is order A1?", "g1"))
    assert judge(index, ("where is   order a1", "g1"), ("WHERE IS ORDER A1", "g2")) == [None, EXACT]


def test_a_near_twin_is_a_duplicate_only_of_another_group():
    index = index_of(("please tell me where my parcel with the blue lamp is today", "g1"), threshold=0.8)
    near = "please tell me where my parcel with the blue lamp is now"
    assert judge(index, (near, "g1")) == [None]
    assert judge(index, (near + " ok", "g2")) == [NEAR]


def test_kept_candidates_join_the_corpus_for_the_rest_of_the_batch_and_later_batches():
    index = index_of()
    text = "refund for the broken kettle from last week please"
    assert judge(index, (text, "a"), (text + " now", "b"), (text, "c")) == [None, NEAR, EXACT]
    assert index.size == 1
    assert judge(index, (text + " today", "d")) == [NEAR]


def test_a_text_of_several_groups_is_a_duplicate_for_every_group():
    index = index_of(("same words", "g1"), ("same words!", "g2"))
    assert judge(index, ("Same words", "g1")) == [EXACT]


def test_unrelated_texts_are_kept_and_the_index_grows_past_its_first_allocation():
    index = DuplicateIndex(threshold=0.95)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 64)).astype(np.float32)  # random 64-d directions: cosine ~ 0 +- 0.13
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"text {i}" for i in range(3000)]
    verdicts = index.judge(texts, texts, vectors, [f"g{i}" for i in range(3000)])
    assert verdicts == [None] * 3000 and index.size == 3000
