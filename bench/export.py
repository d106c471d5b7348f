"""Export speed and memory: 100,000 samples through the release pipeline, beside the bare work.

    .venv/bin/python bench/export.py [--count 100000] [--new 1000] [--sizes 25000,50000] [--presidio 1000]
    .venv/bin/python bench/export.py --service [--count 100000]   # release_publish on SQLite, cold then warm

Every measurement runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own; "memory"
is that peak minus the RSS just before the build started.

- cold: the first release of N samples. Full de-duplication (all pairs, O(n^2): the clustering
  issue's ``group_duplicates``), every text scanned by the PII gate (the regex ``FakeScrubber``
  stands in for Presidio; its per-text cost is the pipeline's, not NER's), every file written.
- warm: the nightly's next release: those N samples carried over (de-duplicated before by the
  same model, their texts known clean to the scan cache) plus ``--new`` new ones.
- bare: ``json.dumps`` + write + sha256 of the same SFT rows (the floor of writing the files);
  ``group_duplicates`` alone on the same vectors (the floor of the cold dedup), at the smallest size.
- presidio: the real scrubber on distinct texts, cold: what the gate costs per text not seen before.

Vectors are deterministic 384-d unit vectors from a hash of each text (MiniLM's width; two
different texts are near-orthogonal, as unrelated texts are under MiniLM). In
production they come from the embedding cache, computed once per text (MiniLM's rate:
bench/cluster_speed.py); the stand-in's own cost is reported as "embed".
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Embed384:
    model_id = "bench-hash-384"

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        # 384 bytes of SHAKE-256 per text as signed coordinates: a cache read's cost, not a model's.
        raw = b"".join(hashlib.shake_256(text.encode()).digest(384) for text in texts)
        out = np.frombuffer(raw, dtype=np.int8).reshape(len(texts), 384).astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        self.seconds += time.perf_counter() - start
        return out


def items(n: int, start: int = 0):
    from tests.flywheel.export.items import make_items

    return itertools.islice(make_items(n, start=start), n)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spec(n: int, **fields):
    from flywheel.export import ExportPolicy, ReleaseSpec
    from tests.flywheel.export.conftest import CREATED

    spec = ReleaseSpec(
        project="bench", number=1, created_at=CREATED, code_version="bench", policy=ExportPolicy()
    )
    return replace(spec, **fields)


def _gate(cache_path: Path):
    from flywheel.export import PiiGate, ScrubberScanner, SqliteScanCache
    from flywheel.pii import FakeScrubber

    return PiiGate(ScrubberScanner(FakeScrubber(key=b"bench")), SqliteScanCache(cache_path))


def prepare_warm(n: int, work: Path) -> None:
    """The state a first release of ``n`` leaves: its items' splits, assignments, clean-text cache."""
    from flywheel.export import Predecessor
    from flywheel.export.formats import item_texts
    from flywheel.export.pii import text_digest
    from flywheel.export.split import SplitEntry, plan_splits
    from tests.flywheel.export.items import T0

    first = list(items(n))
    entries = sorted(
        (
            SplitEntry(i.item_key, i.group_key, (i.task_type, i.cluster or "none"), i.trace_key, i.seed_key)
            for i in first
        ),
        key=lambda e: e.item_key,
    )
    plan = plan_splits(entries, np.arange(len(entries)), {}, test_share=0.1, val_share=0.1)
    predecessor = Predecessor(
        "bench-v1",
        T0 + timedelta(minutes=5 * n),
        {e.item_key: s for e, s in zip(entries, plan.splits, strict=True) if s is not None},
        {"model_id": Embed384.model_id, "threshold": 0.95},
    )
    gate = _gate(work / "clean.sqlite3")
    digests = {text_digest(t) for i in first for t in item_texts(i)}
    gate._cache.add(gate._scanner.identity, sorted(digests))  # what the first release's scan recorded
    (work / "state.pickle").write_bytes(pickle.dumps((predecessor, plan.assignments)))


def measure(mode: str, n: int, new: int, work: Path) -> dict:
    from flywheel.export import build_release
    from tests.flywheel.export.items import T0

    out = work / "release"
    out.mkdir()
    (work / "scratch").mkdir()
    embed = Embed384()
    if mode == "warm":
        predecessor, assignments = pickle.loads((work / "state.pickle").read_bytes())  # noqa: S301 (ours)
        later = T0 + timedelta(minutes=6 * n)
        fresh = (replace(i, decided_at=later) for i in items(new, start=10 * n))
        source = itertools.chain(items(n), fresh)
        spec = _spec(n, number=2, predecessor=predecessor, existing_splits=assignments)
    else:
        source, spec = items(n), _spec(n)
    gate = _gate(work / "clean.sqlite3")
    before = rss_mb()
    start = time.perf_counter()
    outcome = build_release(source, spec=spec, embed=embed, pii=gate, work=work / "scratch", out=out)
    seconds = time.perf_counter() - start
    assert not outcome.problems, outcome.problems[:3]
    return {
        "mode": mode,
        "n": outcome.manifest["counts"]["items"],
        "seconds": round(seconds, 2),
        "stages": outcome.stats["timings_s"],
        "embed": round(embed.seconds, 2),
        "pii": outcome.stats["pii"],
        "dedup": outcome.manifest["dedup"]["mode"],
        "memory_mb": round(rss_mb() - before, 1),
        "peak_mb": round(rss_mb(), 1),
    }


def bare(n: int, work: Path, with_dedup: bool) -> dict:
    """The floor: json.dumps + write + sha256 of the same SFT rows; group_duplicates on the vectors."""
    from flywheel.cluster.dedup import group_duplicates
    from flywheel.export.formats import dedup_text, meta, sft_row

    rows = [sft_row(i, meta(i, "bench-v1")) for i in items(n)]
    start = time.perf_counter()
    digest = hashlib.sha256()
    with (work / "bare.jsonl").open("wb") as handle:
        for row in rows:
            line = (json.dumps(row, ensure_ascii=False) + "\n").encode()
            digest.update(line)
            handle.write(line)
    result = {"write_seconds": round(time.perf_counter() - start, 2)}
    if with_dedup:
        texts = [dedup_text(i) for i in items(n)]
        vectors = Embed384()(texts)
        start = time.perf_counter()
        group_duplicates(texts, vectors)
        result["dedup_seconds"] = round(time.perf_counter() - start, 2)
    return result


def presidio(k: int) -> dict:
    from django.conf import settings

    from flywheel.export import PiiGate, ScrubberScanner
    from flywheel.export.formats import item_texts
    from flywheel.pii import PresidioScrubber, ScrubConfig

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    os.environ.setdefault("SECRET_KEY", "bench")
    import django

    django.setup()
    scrubber = PresidioScrubber(ScrubConfig(spacy_model=settings.PII_SPACY_MODEL), key=b"bench")
    scrubber.scrub_text("warm up Alice", scrubber.new_registry())
    texts = list(dict.fromkeys(t for i in items(k) for t in item_texts(i)))[:k]
    gate = PiiGate(ScrubberScanner(scrubber))
    start = time.perf_counter()
    gate.check([(f"k{j}", [t]) for j, t in enumerate(texts)])
    seconds = time.perf_counter() - start
    return {"texts": len(texts), "seconds": round(seconds, 2), "per_second": round(len(texts) / seconds, 1)}


class HashEmbedder(Embed384):
    """The stand-in vectors behind the service's ``Embedder`` interface (cached in the database)."""

    dim = 384

    def embed(self, texts, *, progress=None) -> np.ndarray:
        return self(list(texts))


def _django(work: Path) -> None:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        FLYWHEEL_DATA_DIR=str(work),
        DJANGO_SETTINGS_MODULE="flywheel.settings",
        SECRET_KEY="bench-only-secret-key",  # noqa: S106 (a throwaway database)
    )
    import django

    django.setup()


def _seed(project, source) -> int:
    """Sample rows for the items, in batches (the review service writes them one by one)."""
    from annotate.models import Sample
    from flywheel.ingest.batching import chunked

    total = 0
    for batch in chunked(source, 2000):
        rows = []
        for i in batch:
            lineage = {
                "source": i.source,
                "source_id": i.source_id,
                "cluster": i.cluster,
                "annotator": i.annotator,
                "reviewer": i.reviewer,
                "sop_version": i.sop_version,
                "task_type": i.task_type,
                "difficulty": i.difficulty,
                "domain": i.domain,
                "sample_type": i.sample_type,
                "must_refuse": i.must_refuse,
                "augment_type": i.augment_type,
                "augment_round": i.augment_round,
                "json_schema": dict(i.json_schema) if i.json_schema else None,
            }
            rows.append(
                Sample(
                    project=project,
                    origin=i.origin,
                    status=Sample.Status.FINAL,
                    decision=i.decision or "consensus",
                    item_key=i.item_key,
                    group_key=i.group_key,
                    prompt=list(i.prompt),
                    answer=i.answer,
                    rejected_answer=i.rejected_answer,
                    output_format=i.output_format,
                    values={"corrected_output": i.answer},
                    lineage=lineage,
                    annotators=list(i.annotators),
                    content_hash=hashlib.sha256(i.item_key.encode()).hexdigest(),
                    decided_at=i.decided_at,
                )
            )
        Sample.objects.bulk_create(rows, batch_size=500)
        total += len(rows)
    return total


def service(phase: str, n: int, new: int, work: Path) -> dict:
    """release_publish on SQLite: ``cold`` seeds n samples, publishes; ``warm`` adds ``new``, publishes."""
    _django(work)
    from django.core.management import call_command
    from django.utils import timezone

    from flywheel.models import FlywheelPolicy, Project
    from flywheel.pii import FakeScrubber
    from flywheel.services.export import release_publish

    start = time.perf_counter()
    if phase == "cold":
        call_command("migrate", verbosity=0)
        project = Project.objects.create(name="bench")
        FlywheelPolicy.objects.create(project=project)
        # Decided before this release (the test items' own times run weeks into the future).
        earlier = timezone.now() - timedelta(days=1)
        seeded = _seed(project, (replace(i, decided_at=earlier) for i in items(n)))
    else:
        project = Project.objects.get(name="bench")
        later = timezone.now()
        seeded = _seed(project, (replace(i, decided_at=later) for i in items(new, start=10 * n)))
    seed_seconds = time.perf_counter() - start
    before = rss_mb()
    start = time.perf_counter()
    result = release_publish(project=project, scrubber=FakeScrubber(key=b"bench"), embedder=HashEmbedder())
    assert result.release is not None
    return {
        "samples": result.release.sample_count,
        "seeded": seeded,
        "seconds": round(time.perf_counter() - start, 2),
        "stages": result.stats["timings_s"],
        "pii": result.stats["pii"],
        "dedup": result.manifest["dedup"]["mode"],
        "memory_mb": round(rss_mb() - before, 1),
        "peak_mb": round(rss_mb(), 1),
        "seed_seconds": round(seed_seconds, 1),
    }


def sub(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench step {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument(
        "--sizes", default="25000,50000", help="Smaller cold sizes, to show how memory grows."
    )
    parser.add_argument(
        "--presidio", type=int, default=1_000, help="Distinct texts for the Presidio rate (0: skip)."
    )
    parser.add_argument("--service", action="store_true", help="Time release_publish on SQLite instead.")
    parser.add_argument("--step", nargs=4, metavar=("KIND", "N", "NEW", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        kind, n, new, work = args.step[0], int(args.step[1]), int(args.step[2]), Path(args.step[3])
        if kind == "prepare":
            prepare_warm(n, work)
            print("{}")
        elif kind == "bare":
            print(json.dumps(bare(n, work, with_dedup=bool(new))))
        elif kind == "presidio":
            print(json.dumps(presidio(n)))
        elif kind.startswith("service-"):
            print(json.dumps(service(kind.split("-")[1], n, new, work)))
        else:
            print(json.dumps(measure(kind, n, new, work)))
        return
    if args.service:
        with tempfile.TemporaryDirectory() as tmp:
            for phase in ("cold", "warm"):
                r = sub("--step", f"service-{phase}", str(args.count), str(args.new), tmp)
                print(
                    f"release_publish {phase}: {r['samples']} samples in {r['seconds']} s "
                    f"(stages {r['stages']}; PII {r['pii']}; dedup {r['dedup']}), "
                    f"memory +{r['memory_mb']} MB "
                    f"(peak {r['peak_mb']} MB); seeding the database took {r['seed_seconds']} s"
                )
        return
    sizes = [int(s) for s in args.sizes.split(",") if s] + [args.count]
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(sub("--step", "cold", str(n), "0", tmp))
            print(_line(results[-1]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        sub("--step", "prepare", str(args.count), "0", tmp)
        results.append(sub("--step", "warm", str(args.count), str(args.new), tmp))
        print(_line(results[-1]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        floor = sub("--step", "bare", str(args.count), "0", tmp)
        small = sub("--step", "bare", str(sizes[0]), "1", tmp)
    print(f"bare json.dumps + write + sha256 of {args.count} SFT rows: {floor['write_seconds']} s")
    print(
        f"bare group_duplicates on {sizes[0]} vectors: {small['dedup_seconds']} s "
        f"(our dedup+split stage at that size: {results[0]['stages']['dedup_split']} s)"
    )
    if args.presidio:
        rate = sub("--step", "presidio", str(args.presidio), "0", ".")
        per_second = rate["per_second"]
        print(f"Presidio, cold, {rate['texts']} distinct texts: {rate['seconds']} s = {per_second} texts/s")
    print("target: a 100k release (the nightly's: warm) in under 20 s, memory flat as the release grows")


def _line(r: dict) -> str:
    s = r["stages"]
    return (
        f"{r['mode']:<5} {r['n']:>7} samples: {r['seconds']:7.1f} s  (read+embed {s['scan']:.1f}, "
        f"of which embed stand-in {r['embed']:.1f}; dedup+split {s['dedup_split']:.1f} [{r['dedup']}]; "
        f"write+checks {s['write']:.1f}; PII scanned {r['pii']['scanned']}, "
        f"cached {r['pii']['from_cache']})  "
        f"memory +{r['memory_mb']:.0f} MB (peak {r['peak_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    main()
