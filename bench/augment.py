"""Seed variants: core speed, the duplicate check beside bare numpy, and how close MiniLM puts variants.

    .venv/bin/python bench/augment.py [--seeds 2000] [--corpus 100000] [--minilm 300]

1. Transforms + answer contract (plain core, no database) on ``--seeds`` synthetic support and
   extraction turns (fixtures/demo_traces.py): variants/s per transform of the demo recipe.
2. The duplicate check: :class:`annotate.augment.dedup.DuplicateIndex` judging 4,000 candidates in
   batches of 400 against ``--corpus`` random 384-d unit vectors (a reviewed set that size), beside
   bare numpy doing only the similarity part (one ``candidates @ corpus.T`` per batch, max per row).
3. With the real all-MiniLM-L6-v2 on ``--minilm`` seeds: cosine of each variant to its own seed and
   to the nearest other seed, per transform. The share >= 0.95 to the own seed is what a dedup that
   does not exempt a seed's family would throw away.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotate.augment import SeedItem, Variant, check_contract, derived_rng, load_recipe
from annotate.augment.dedup import DuplicateIndex
from fixtures.demo_traces import generate

RECIPE = Path(__file__).resolve().parent.parent / "fixtures" / "demo_recipe.yaml"


def seed_items(n: int) -> list[SeedItem]:
    items = []
    for i, bundle in enumerate(generate(n, seed=11)):
        generation = bundle["observations"][1]
        system, user = generation["input"]
        answer = generation["output"]["content"]
        json_task = answer.lstrip().startswith("{") and answer.rstrip().endswith("}")
        items.append(
            SeedItem(
                key=f"bench:{i}",
                prompt=(system, user),
                answer=answer,
                output_format="json" if json_task else "text",
            )
        )
    return items


def bench_transforms(items: list[SeedItem]) -> dict[str, list[tuple[SeedItem, Variant]]]:
    recipe = load_recipe(RECIPE)
    made: dict[str, list[tuple[SeedItem, Variant]]] = {}
    print(f"1. transforms + contract on {len(items)} seeds (demo recipe)")
    for entry, transform in zip(recipe.variants, recipe.build(), strict=True):
        start = time.perf_counter()
        kept, tried = [], 0
        for copy in range(entry.count):
            for item in items:
                tried += 1
                outcome = transform.apply(
                    item, derived_rng(recipe.seed, item.key, 1, entry.augment_type, copy)
                )
                if isinstance(outcome, Variant) and check_contract(item, outcome) is None:
                    kept.append((item, outcome))
        seconds = time.perf_counter() - start
        made[entry.augment_type] = kept
        print(
            f"   {entry.augment_type:<20} {tried / seconds:>9,.0f} candidates/s   "
            f"{len(kept) / tried:>5.0%} made a variant that keeps the contract"
        )
    return made


def bench_dedup(corpus_size: int, dim: int = 384, candidates: int = 4000, batch: int = 400) -> None:
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(corpus_size, dim)).astype(np.float32)
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    new = rng.normal(size=(candidates, dim)).astype(np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    index = DuplicateIndex(threshold=0.95)
    for i, vector in enumerate(corpus):
        index.add(f"c{i}", f"corpus text {i}", vector, f"g{i % 5000}")
    start = time.perf_counter()
    for s in range(0, candidates, batch):
        texts = [f"candidate {i}" for i in range(s, s + batch)]
        index.judge(texts, texts, new[s : s + batch], [f"n{i}" for i in range(s, s + batch)])
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for s in range(0, candidates, batch):
        _ = (new[s : s + batch] @ corpus.T).max(axis=1) >= 0.95
    bare = time.perf_counter() - start
    print(f"2. duplicate check, {candidates:,} candidates vs {corpus_size:,} samples (384-d), batch {batch}")
    print(f"   ours (exact + near, groups, within-batch)  {candidates / ours:>9,.0f} candidates/s")
    print(f"   bare numpy similarity only                 {candidates / bare:>9,.0f} candidates/s")


def bench_minilm(made: dict[str, list[tuple[SeedItem, Variant]]], n: int) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from annotate.augment.dedup import sample_text
    from flywheel.cluster.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    seeds = {item.key: item for pairs in made.values() for item, _ in pairs}
    chosen = sorted(seeds)[:n]
    seed_vectors = embedder.embed([sample_text(seeds[k].prompt, seeds[k].answer) for k in chosen])
    position = {key: i for i, key in enumerate(chosen)}
    print(f"3. all-MiniLM-L6-v2 cosine of variants of {len(chosen)} seeds (median, share >= 0.95)")
    for kind, pairs in made.items():
        pairs = [(item, v) for item, v in pairs if item.key in position]
        if not pairs:
            continue
        vectors = embedder.embed([sample_text(v.prompt, v.answer) for _, v in pairs])
        sims = vectors @ seed_vectors.T
        own = np.array([sims[i, position[item.key]] for i, (item, _) in enumerate(pairs)])
        for i, (item, _) in enumerate(pairs):
            sims[i, position[item.key]] = -1
        other = sims.max(axis=1)
        print(
            f"   {kind:<20} to its seed {statistics.median(own):.3f} ({(own >= 0.95).mean():>4.0%})   "
            f"to the nearest other seed {statistics.median(other):.3f} ({(other >= 0.95).mean():>4.0%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--corpus", type=int, default=100_000)
    parser.add_argument("--minilm", type=int, default=300, help="0 skips the MiniLM part")
    args = parser.parse_args()
    made = bench_transforms(seed_items(args.seeds))
    bench_dedup(args.corpus)
    if args.minilm:
        bench_minilm(made, args.minilm)


if __name__ == "__main__":
    main()
