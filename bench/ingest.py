"""Ingest throughput: import_traces (parse + scrub + write) vs bare Presidio on the same texts.

Two baselines: bare Presidio over every string a trace carries (what a naive script does),
and over the distinct strings only (traces repeat themselves: the system prompt, the user
turn in the span, the generation input and the trace input). Our pipeline de-duplicates
within each batch of 200 records, so the distinct-strings figure is the one to beat.

    .venv/bin/python bench/ingest.py [--count 5000] [--batch-size 64]

Both sides use the same spaCy model. "Bare" is presidio's BatchAnalyzerEngine over every
string our pipeline would scrub (trace + observation + score fields, nested JSON leaves),
then AnonymizerEngine on each: the work a hand-written script would do. The pipeline writes
into a fresh SQLite database in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def string_leaves(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in string_leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in string_leaves(v)]
    return []


def texts_of(bundle: dict) -> list[str]:
    trace = bundle["trace"]
    fields = [trace.get(k) for k in ("name", "userId", "sessionId", "release", "input", "output", "metadata")]
    fields += [trace.get("tags")]
    for obs in bundle["observations"]:
        fields += [obs.get(k) for k in ("name", "statusMessage", "input", "output", "metadata")]
    for score in trace.get("scores") or []:
        fields += [score.get("name"), score.get("comment")]
    return [s for f in fields for s in string_leaves(f) if s and any(c.isalnum() for c in s)]


def bare_presidio(texts: list[str], model: str, batch_size: int) -> float:
    import tldextract
    import tldextract.tldextract
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    # Offline, the stock extractor tries to download the suffix list, then falls back to the
    # snapshot it ships: the same answers without the network attempt (as bench/pii_recall.py).
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    nlp = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    ).create_engine()
    analyzer = BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=nlp))
    anonymizer = AnonymizerEngine()
    list(analyzer.analyze_iterator(texts[:50], language="en"))  # warm-up
    start = time.perf_counter()
    results = analyzer.analyze_iterator(texts, language="en", batch_size=batch_size)
    for text, found in zip(texts, results, strict=True):
        anonymizer.anonymize(text=text, analyzer_results=found)  # type: ignore[arg-type]
    return time.perf_counter() - start


def pipeline(path: Path, workdir: Path) -> tuple[float, int]:
    os.environ.update(
        DEBUG="1", DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}", FLYWHEEL_DATA_DIR=str(workdir)
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from flywheel.ingest.importing import import_traces, resolve_project
    from flywheel.models import Trace
    from flywheel.services.scrubbing import scrubber_for

    call_command("migrate", verbosity=0)
    project = resolve_project("bench", create=True)
    scrubber_for(project).scrub_text("warm up Alice", _registry())  # load the model outside the clock
    start = time.perf_counter()
    import_traces(project=project, paths=[path], progress=True)
    return time.perf_counter() - start, Trace.objects.count()


def _registry():
    from flywheel.pii.placeholders import PlaceholderRegistry

    return PlaceholderRegistry(b"bench", {})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    from fixtures.demo_traces import write_jsonl

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = write_jsonl(work / "traces.jsonl", args.count)
        texts = [t for line in path.open() for t in texts_of(json.loads(line))]
        ours, stored = pipeline(path, work)
        from django.conf import settings

        bare = bare_presidio(texts, settings.PII_SPACY_MODEL, args.batch_size)
        distinct = list(dict.fromkeys(texts))
        bare_distinct = bare_presidio(distinct, settings.PII_SPACY_MODEL, args.batch_size)
    print(f"traces: {args.count}  strings: {len(texts)} ({len(distinct)} distinct)  stored traces: {stored}")
    print(f"bare Presidio, every string            : {bare:7.1f} s  {args.count / bare:7.1f} traces/s")
    print(
        f"bare Presidio, distinct strings only   : {bare_distinct:7.1f} s  "
        f"{args.count / bare_distinct:7.1f} traces/s  (a script that dedups globally)"
    )
    print(f"flywheel import_traces (parse+scrub+db): {ours:7.1f} s  {args.count / ours:7.1f} traces/s")
    print(
        f"ratio ours/bare (every string): {bare / ours:.2f}; ours/bare (distinct): {bare_distinct / ours:.2f}"
    )
    print("target: ours >= 0.80 x bare")


if __name__ == "__main__":
    main()
