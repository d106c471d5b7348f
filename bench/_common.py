"""Shared helpers of the clustering benches: CLINC150 loading, a 50k text set, an embedding cache.

Embeddings are cached as .npy files outside the repository (``$FLYWHEEL_BENCH_CACHE`` or
``<tmp>/flywheel-bench-cache``), keyed by model id and the exact texts, with the seconds the
original embedding took stored beside them so a cached number is never passed off as fresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the benches never download anything
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "clinc150_data_full.json"

# Light templated variation used to grow CLINC150 queries to 50k distinct "failures": a few
# wrappers a user or a trace converter might add. Chosen so the variants are not exact duplicates.
_PREFIXES = ("", "hey, ", "quick question: ", "i need help: ", "can you tell me ")
_SUFFIXES = ("", " please", " thanks", " right now", " for me")


def load_clinc(path: Path) -> dict[str, list[tuple[str, str]]]:
    if not path.is_file():
        raise SystemExit(f"CLINC150 data not found at {path}; pass --data PATH/clinc150_data_full.json")
    raw = json.loads(path.read_text())
    return {split: [(text, intent) for text, intent in rows] for split, rows in raw.items()}


def clinc_50k(data: dict[str, list[tuple[str, str]]], n: int = 50_000) -> list[str]:
    """``n`` distinct texts: all CLINC150 queries (train, val, test, oos), then templated variants."""
    base = [
        t for split in ("train", "val", "test", "oos_train", "oos_val", "oos_test") for t, _ in data[split]
    ]
    texts, seen = [], set()
    variants = [(p, s) for p in _PREFIXES for s in _SUFFIXES]
    for prefix, suffix in variants:
        for i, text in enumerate(base):
            # Rotate the template per text so no single wrapper dominates one round.
            p, s = variants[(variants.index((prefix, suffix)) + i) % len(variants)]
            candidate = f"{p}{text}{s}"
            if candidate not in seen:
                seen.add(candidate)
                texts.append(candidate)
            if len(texts) == n:
                return texts
    raise SystemExit(f"could only build {len(texts)} distinct texts")


def cache_dir() -> Path:
    path = Path(
        os.environ.get("FLYWHEEL_BENCH_CACHE") or Path(tempfile.gettempdir()) / "flywheel-bench-cache"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_embed(
    embed: Callable[[list[str]], np.ndarray], model_id: str, texts: list[str], *, fresh: bool = False
) -> tuple[np.ndarray, float, bool]:
    """(vectors, seconds the embedding took, came_from_cache)."""
    key = hashlib.sha256("\0".join([model_id, *texts]).encode()).hexdigest()[:20]
    npy, meta = cache_dir() / f"emb-{key}.npy", cache_dir() / f"emb-{key}.json"
    if not fresh and npy.is_file() and meta.is_file():
        return np.load(npy), float(json.loads(meta.read_text())["seconds"]), True
    start = time.perf_counter()
    vectors = embed(texts)
    seconds = time.perf_counter() - start
    np.save(npy, vectors)
    meta.write_text(json.dumps({"seconds": seconds, "n": len(texts), "model_id": model_id}))
    return vectors, seconds, False
