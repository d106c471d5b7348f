"""Near-duplicate removal spares items of one group key (a seed and its variants), and only them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flywheel.export.formats import dedup_text
from tests.flywheel.export.items import FakeEmbed, make_items

ITEMS = list(make_items(120))
SEED = replace(
    ITEMS[0],
    item_key="lf:order-late",
    group_key="trace:lf:order-late",
    prompt=({"role": "user", "content": "Hi, where is my order A123456? It was due last week."},),
    answer="I'm sorry for the delay. Order A123456 is in transit; you'll get a tracking link by email.",
    rejected_answer="",
    trace_key="t-order-late",
)
# The augmentation recipes' kinds of variant: noise, tone, length, clause order.
WORDINGS = {
    "noise": "hi, wher is my ordr A123456?? it was due last week",
    "tone": "Hello! Could you kindly tell me where my order A123456 is? It was due last week.",
    "length": "Where is my order A123456? It was due last week and I still have nothing.",
    "reorder": "It was due last week: where is my order A123456?",
}
VARIANTS = [
    replace(
        SEED,
        item_key=f"{SEED.item_key}:{kind}",
        prompt=({"role": "user", "content": text},),
        origin="variant",
        augment_type=kind,
        augment_round=1,
        seed_key=SEED.item_key,
        trace_key=None,
    )
    for kind, text in WORDINGS.items()
]


class CloseToSeed(FakeEmbed):
    """The hashing embedder, except that the chosen texts get the seed's vector plus a little noise:
    cosine ~0.97-0.99 to the seed, as MiniLM puts 83-100% of such variants >= 0.95."""

    def __init__(self, near: list[str]) -> None:
        super().__init__()
        self.seed_vector = self._embedder.embed([dedup_text(SEED)])[0]
        self.near = set(near)

    def __call__(self, texts):
        vectors = super().__call__(texts)
        for i, text in enumerate(texts):
            if text in self.near:
                noise = np.random.default_rng(len(text)).normal(size=vectors.shape[1]).astype(np.float32)
                v = self.seed_vector + 0.01 * noise
                vectors[i] = v / np.linalg.norm(v)
        return vectors


def cosine_to_seed(embed: CloseToSeed, item) -> float:
    return float(embed.seed_vector @ embed([dedup_text(item)])[0])


def test_a_seed_and_its_close_variants_all_reach_the_release_on_one_side(build):
    embed = CloseToSeed([dedup_text(v) for v in VARIANTS])
    assert all(cosine_to_seed(embed, v) >= 0.95 for v in VARIANTS), "the variants must be near duplicates"
    outcome, _ = build([*ITEMS, SEED, *VARIANTS], embed=embed)
    assert outcome.problems == []
    placed = dict(outcome.items)
    family = [SEED, *VARIANTS]
    assert all(member.item_key in placed for member in family)
    assert len({placed[member.item_key] for member in family}) == 1
    assert outcome.manifest["dedup"]["near_removed"] == 0
    assert outcome.manifest["dedup"]["removed"] == []


def test_an_item_of_another_group_close_to_the_seed_is_still_removed_and_the_variants_stay(build):
    other = replace(
        SEED,
        item_key="lf:zz-order-late-again",
        group_key="trace:lf:zz-order-late-again",
        prompt=({"role": "user", "content": "where is my order A123456, it was due last week?"},),
        trace_key="t-again",
    )
    embed = CloseToSeed([dedup_text(v) for v in [*VARIANTS, other]])
    assert cosine_to_seed(embed, other) >= 0.95
    outcome, _ = build([*ITEMS, SEED, *VARIANTS, other], embed=embed)
    placed = dict(outcome.items)
    assert other.item_key not in placed
    assert all(member.item_key in placed for member in [SEED, *VARIANTS])
    assert outcome.manifest["dedup"]["removed"] == [
        {"item": other.item_key, "kept": SEED.item_key, "reason": "near"}
    ]
    # The removed item's group is tied to the kept one's side, for later releases.
    assert outcome.assignments[other.group_key] is placed[SEED.item_key]


def test_an_exact_duplicate_inside_one_group_is_still_removed(build):
    twin = replace(VARIANTS[1], item_key=f"{SEED.item_key}:tone-again")  # byte-identical content
    embed = CloseToSeed([dedup_text(v) for v in VARIANTS])
    outcome, _ = build([*ITEMS, SEED, *VARIANTS, twin], embed=embed)
    placed = dict(outcome.items)
    assert (VARIANTS[1].item_key in placed) != (twin.item_key in placed)
    assert outcome.manifest["dedup"]["exact_removed"] == 1
    assert outcome.manifest["dedup"]["near_removed"] == 0
