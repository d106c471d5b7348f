"""Clustering speed for 50,000 failures, beside bare sentence-transformers and bare UMAP + HDBSCAN.

    .venv/bin/python bench/cluster_speed.py [--data PATH] [--count 50000] [--reuse-embeddings]

The 50k texts are every CLINC150 query (train, val, test, out-of-scope: 23,700) plus light
templated variants ("hey, ... please") until 50,000 distinct strings; all of them are really
embedded (no extrapolation). --reuse-embeddings loads them from the cache instead and says so,
printing the time measured when they were computed. Then:
- embedding throughput: our SentenceTransformerEmbedder vs bare SentenceTransformer.encode on the
  same sample and batch size, paired piece by piece in alternating order (the machine is shared;
  medians are shown);
- our pipeline (dedup → UMAP → HDBSCAN → refine → names → exemplars) on the 50k;
- fit_clusters alone on all 50k vectors (dedup skipped) vs bare UMAP + HDBSCAN with the same
  parameters (HDBSCAN on raw 384-d vectors takes > 20 min at 50k, see STACK.md: not run);
- incremental assignment of 1,000 new failures to the existing centroids.
The numba JIT of UMAP's first call is paid once, up front (a 5k fit), and reported on its own.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import numpy as np
from _common import DEFAULT_DATA, cached_embed, clinc_50k, load_clinc

NEW_WRAPPERS = (("so, ", ""), ("urgent: ", ""), ("", " again"), ("one more thing, ", " asap"))


def throughput(embedder, texts: list[str], pieces: int = 10, passes: int = 2) -> tuple[float, float, float]:
    """Paired comparison: (ours texts/s, bare texts/s, median ours/bare ratio).

    The machine is shared, so one long run each would mostly measure the neighbours: each piece
    of the sample is embedded by both, back to back, in alternating order, and the median of
    the per-piece ratios is reported.
    """
    model = embedder._load()
    size = len(texts) // pieces
    ours, bare, ratios = [], [], []
    for turn in range(pieces * passes):
        piece = texts[(turn % pieces) * size : (turn % pieces + 1) * size]
        pair = {}
        for side in ("bare", "ours") if turn % 2 == 0 else ("ours", "bare"):
            start = time.perf_counter()
            if side == "bare":
                model.encode(
                    piece, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False
                )
            else:
                embedder.embed(piece)
            pair[side] = len(piece) / (time.perf_counter() - start)
        ours.append(pair["ours"])
        bare.append(pair["bare"])
        ratios.append(pair["ours"] / pair["bare"])
    return float(np.median(ours)), float(np.median(bare)), float(np.median(ratios))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(data_path: Path, count: int, new_count: int, sample: int, reuse: bool) -> None:
    from flywheel.cluster import (
        ClusterParams,
        SentenceTransformerEmbedder,
        assign_to_centroids,
        cluster_texts,
        fit_clusters,
    )

    data = load_clinc(data_path)
    texts = clinc_50k(data, count)
    rng = random.Random(0)
    base = [t for split in ("train", "val", "test") for t, _ in data[split]]
    new_texts = [f"{p}{t}{s}" for t in rng.sample(base, new_count) for p, s in [rng.choice(NEW_WRAPPERS)]]
    params = ClusterParams()
    print(f"{len(texts)} failure texts (CLINC150 queries + templated variants), {new_count} new ones later")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"params: {params}\n")

    embedder = SentenceTransformerEmbedder()
    _, load_s = timed(lambda: embedder.embed(["warm up"]))
    print(f"model load: {load_s:.1f} s")
    ours_tps, bare_tps, ratio = throughput(embedder, rng.sample(texts, sample))
    print(
        f"embedding throughput on {sample} of the texts (10 pieces x 2 passes, paired, medians), "
        f"batch {embedder.batch_size}: ours {ours_tps:.0f} texts/s, bare encode {bare_tps:.0f} texts/s, "
        f"ours/bare {ratio - 1:+.1%}"
    )
    vectors, embed_s, cached = cached_embed(embedder.embed, embedder.model_id, texts, fresh=not reuse)
    how = "CACHED: measured when the cache was written" if cached else "measured now"
    print(f"embedding all {len(texts)}: {embed_s:.1f} s ({len(texts) / embed_s:.0f} texts/s, {how})\n")

    # 5,000 points: below 4,096 UMAP uses exact neighbours and NN-descent would still be cold.
    _, jit_s = timed(lambda: fit_clusters(vectors[:5000], params))
    print(f"UMAP/numba JIT warm-up (once per process; includes fitting 5,000 points): {jit_s:.1f} s")

    run, pipeline_s = timed(lambda: cluster_texts(texts, vectors, params=params, model_id=embedder.model_id))
    counts, steps = run.manifest["counts"], run.manifest["timings_s"]
    print(
        f"our pipeline on {len(texts)}: {pipeline_s:.1f} s  "
        + " ".join(f"{k}={v:.1f}" for k, v in steps.items())
    )
    print(
        f"  dedup kept {counts['unique']} of {counts['items']} (exact groups {counts['exact_groups']}); "
        f"{counts['clusters']} clusters, {counts['noise_items']} items in noise"
    )

    fit, fit_s = timed(lambda: fit_clusters(vectors, params))
    print(
        f"fit_clusters on all {len(vectors)} vectors (no dedup): {fit_s:.1f} s  "
        + " ".join(f"{k}={v:.1f}" for k, v in fit.timings.items())
        + f"; {fit.n_clusters} clusters, {fit.n_noise} noise"
    )
    bare_s, bare_k = bare_umap_hdbscan(vectors, params)
    print(
        f"bare UMAP + HDBSCAN, same parameters, {len(vectors)} vectors: {bare_s:.1f} s; {bare_k} clusters\n"
    )

    # Best of three: on a shared 2-core machine one slow round says more about the neighbours.
    rounds = [timed(lambda: embedder.embed(new_texts)) for _ in range(3)]
    new_vectors, new_embed_s = min(rounds, key=lambda r: r[1])
    labels, assign_s = timed(lambda: assign_to_centroids(new_vectors, run.fit.centroids))
    print(
        f"incremental: {new_count} new failures embedded in {new_embed_s:.2f} s (best of "
        + ", ".join(f"{s:.2f}" for _, s in rounds)
        + f"), assigned to {len(run.fit.centroids)} centroids in {assign_s * 1000:.1f} ms; "
        f"{(labels == -1).sum()} went to noise"
    )

    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    print("summary")
    print(f"  end-to-end excluding embedding (pipeline): {pipeline_s:6.1f} s   target < 120 s")
    print(f"  end-to-end including embedding:           {embed_s + pipeline_s:6.1f} s   ({how})")
    label = f"incremental {new_count:,} (embed + assign):"
    print(f"  {label:42s} {new_embed_s + assign_s:6.2f} s   target < 5 s")
    print(f"  embedding throughput vs bare encode:       {ratio - 1:+6.1%}   target within 10%")


def bare_umap_hdbscan(vectors: np.ndarray, params) -> tuple[float, int]:
    """What a hand-written script would run: same UMAP and HDBSCAN parameters, nothing else."""
    import hdbscan
    import umap

    start = time.perf_counter()
    reduced = umap.UMAP(
        n_neighbors=params.n_neighbors,
        n_components=params.n_components,
        min_dist=params.min_dist,
        metric="cosine",
        random_state=params.seed,
        n_jobs=1,
    ).fit_transform(vectors)
    labels = hdbscan.HDBSCAN(
        min_cluster_size=params.min_cluster_size,
        min_samples=params.min_samples,
        cluster_selection_method=params.cluster_selection_method,
    ).fit_predict(reduced)
    return time.perf_counter() - start, len(set(labels) - {-1})


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="clinc150_data_full.json")
    parser.add_argument("--count", type=int, default=50_000, help="failure texts to cluster")
    parser.add_argument("--new", type=int, default=1_000, help="new failures to assign incrementally")
    parser.add_argument("--sample", type=int, default=3_000, help="texts for the throughput comparison")
    parser.add_argument("--reuse-embeddings", action="store_true", help="load the 50k embeddings from cache")
    return parser


if __name__ == "__main__":
    args = make_parser().parse_args()
    main(args.data, args.count, args.new, args.sample, args.reuse_embeddings)
