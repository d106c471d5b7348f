"""Clustering quality on CLINC150: our pipeline vs KMeans told the true k, on the same embeddings.

    .venv/bin/python bench/cluster_quality.py [--data PATH] [--seeds 42,7,123] [--sweep]

Two settings per seed:
- in-scope: the 4,500 `test` queries (150 intents). ARI / NMI count noise as one extra label,
  so noise costs score: keeping isolated points visible is not free here.
- mixed: the same plus the 1,000 `oos_test` queries. ARI / NMI over the in-scope queries; the
  share of out-of-scope queries left in noise shows whether strays stay visible.
KMeans (k=150, n_init=10) and plain UMAP+HDBSCAN (the STACK.md reference recipe) run on the same
vectors. `--sweep` reruns the parameter variants tried while tuning the defaults.
Embeddings are cached outside the repo (see bench/_common.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from _common import DEFAULT_DATA, cached_embed, load_clinc

# Variants tried while tuning (name, overrides of ClusterParams). Defaults come first.
REFERENCE: dict[str, object] = dict(
    n_neighbors=15, min_cluster_size=10, min_samples=None, cluster_selection_method="eom"
)
SWEEP: list[tuple[str, dict[str, object]]] = [
    ("defaults", {}),
    ("reference: nn15 mcs10 eom, raw", {**REFERENCE, "refine_iterations": 0, "min_similarity": None}),
    ("reference + all noise to nearest", {**REFERENCE, "refine_iterations": 0, "min_similarity": -1.0}),
    ("reference + refine + cut 0.35", REFERENCE),
    ("defaults, n_neighbors 15", {"n_neighbors": 15}),
    ("defaults, n_neighbors 30", {"n_neighbors": 30}),
    ("defaults, min_cluster_size 15", {"min_cluster_size": 15}),
    ("defaults, min_samples None", {"min_samples": None}),
    ("defaults, eom", {"cluster_selection_method": "eom"}),
    ("defaults, UMAP 10-d", {"n_components": 10}),
    ("defaults, no refine", {"refine_iterations": 0}),
    ("defaults, cut 0.30", {"min_similarity": 0.30}),
    ("defaults, cut 0.40", {"min_similarity": 0.40}),
    ("defaults, all noise to nearest", {"min_similarity": -1.0}),
]


def scores(truth: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return adjusted_rand_score(truth, labels), normalized_mutual_info_score(truth, labels)


def ours(texts, vectors, truth, n_in, params):
    from flywheel.cluster import NOISE, cluster_texts

    start = time.perf_counter()
    run = cluster_texts(texts, vectors, params=params)
    ari, nmi = scores(truth, run.labels[:n_in])
    row = dict(ari=ari, nmi=nmi, k=run.fit.n_clusters, noise=float(np.mean(run.labels[:n_in] == NOISE)))
    if len(texts) > n_in:
        row["oos_noise"] = float(np.mean(run.labels[n_in:] == NOISE))
    row["seconds"] = time.perf_counter() - start
    return row, run


def showcase(run, texts, n_in, count=8) -> None:
    """A few clusters as a reviewer would see them, and what stayed in noise."""
    print("  largest clusters (name | size | top exemplar):")
    for cluster in run.clusters[:count]:
        print(f"    {cluster.name:40s} {cluster.size:4d}  {texts[cluster.exemplars[0]]!r}")
    if run.noise is not None:
        noise = [i for i in range(len(texts)) if run.labels[i] == -1]
        strays = [texts[i] for i in noise if i >= n_in][:4] + [texts[i] for i in noise if i < n_in][:3]
        print(f"  noise ({run.noise.size} items), e.g.: " + "; ".join(repr(t) for t in strays))


def reference(vectors, truth, seed) -> tuple[dict[str, float], dict[str, float]]:
    """STACK.md recipe: UMAP(15, 5-d, cosine) + HDBSCAN(10, eom); then all noise to the nearest centroid."""
    import hdbscan
    import umap

    from flywheel.cluster import NOISE, assign_to_centroids, centroids_of

    reduced = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed,
                        n_jobs=1).fit_transform(vectors)  # fmt: skip
    labels = hdbscan.HDBSCAN(min_cluster_size=10).fit_predict(reduced)
    raw = dict(zip(("ari", "nmi"), scores(truth, labels), strict=True))
    raw.update(k=len(set(labels) - {NOISE}), noise=float(np.mean(labels == NOISE)))
    filled = labels.copy()
    noise = labels == NOISE
    filled[noise] = assign_to_centroids(vectors[noise], centroids_of(vectors, labels), min_similarity=-1.0)
    full = dict(zip(("ari", "nmi"), scores(truth, filled), strict=True))
    full.update(k=raw["k"], noise=0.0)
    return raw, full


def kmeans(vectors, truth, k, seed) -> dict[str, float]:
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors)
    ari, nmi = scores(truth, labels)
    return dict(ari=ari, nmi=nmi, k=k, noise=0.0)


def fmt(name: str, row: dict[str, float]) -> str:
    oos = f"{row['oos_noise']:6.1%}" if "oos_noise" in row else "     -"
    return f"  {name:44s} ARI {row['ari']:.3f}  NMI {row['nmi']:.3f}  clusters {row['k']:4.0f}  noise {row['noise']:5.1%}  oos→noise {oos}"  # noqa: E501


def mean_row(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def main(data_path: Path, seeds: list[int], sweep: bool) -> None:
    from flywheel.cluster import ClusterParams, SentenceTransformerEmbedder

    data = load_clinc(data_path)
    in_texts = [t for t, _ in data["test"]]
    oos_texts = [t for t, _ in data["oos_test"]]
    intents = sorted({i for _, i in data["test"]})
    truth = np.array([intents.index(i) for _, i in data["test"]])
    embedder = SentenceTransformerEmbedder()
    vec_in, sec_in, cached = cached_embed(embedder.embed, embedder.model_id, in_texts)
    vec_oos, _, _ = cached_embed(embedder.embed, embedder.model_id, oos_texts)
    vec_mix, mix_texts = np.vstack([vec_in, vec_oos]), in_texts + oos_texts
    n_in = len(in_texts)
    print(f"CLINC150 test: {n_in} in-scope queries / {len(intents)} intents + {len(oos_texts)} out-of-scope")
    print(
        f"embeddings: {embedder.model_id}, {'cached' if cached else 'computed'} ({sec_in:.0f} s for in-scope)"
    )
    print(f"defaults: {ClusterParams()}")
    print("ARI/NMI count noise as one label; in the mixed setting they cover the in-scope queries only.\n")

    variants = SWEEP if sweep else SWEEP[:1]
    table: dict[tuple[str, str], list[dict[str, float]]] = {}
    for seed in seeds:
        print(f"seed {seed}")
        for name, overrides in variants:
            params = dataclasses.replace(ClusterParams(seed=seed), **overrides)  # type: ignore[arg-type]
            for setting, texts, vectors in (("in-scope", in_texts, vec_in), ("mixed", mix_texts, vec_mix)):
                row, run = ours(texts, vectors, truth, n_in, params)
                table.setdefault((name, setting), []).append(row)
                print(fmt(f"ours [{name}] {setting}", row) + f"  ({row['seconds']:.1f} s)")
                if seed == seeds[0] and name == "defaults" and setting == "mixed":
                    showcase(run, texts, n_in)
        raw, full = reference(vec_in, truth, seed)
        table.setdefault(("UMAP+HDBSCAN reference", "in-scope"), []).append(raw)
        table.setdefault(("reference, all noise to nearest", "in-scope"), []).append(full)
        print(fmt("UMAP+HDBSCAN(10) reference in-scope", raw))
        print(fmt("reference, all noise → nearest in-scope", full))
        km = kmeans(vec_in, truth, len(intents), seed)
        table.setdefault(("KMeans true k=150", "in-scope"), []).append(km)
        print(fmt("KMeans true k=150 in-scope", km))

    print(f"\nmean over seeds {seeds}:")
    for (name, setting), rows in table.items():
        print(fmt(f"{name} {setting}", mean_row(rows)) + f"  (ARI sd {np.std([r['ari'] for r in rows]):.3f})")
    print("\ntarget: beat ARI 0.72 / NMI 0.91 (reference, all noise assigned) without k, noise visible")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="clinc150_data_full.json")
    parser.add_argument("--seeds", default="42,7,123", help="comma-separated UMAP seeds")
    parser.add_argument("--sweep", action="store_true", help="also run the variants tried while tuning")
    return parser


if __name__ == "__main__":
    args = make_parser().parse_args()
    main(args.data, [int(s) for s in args.seeds.split(",")], args.sweep)
