"""PII recall of our scrubber against bare Presidio on a labelled sample.

    .venv/bin/python bench/pii_recall.py
    .venv/bin/python bench/pii_recall.py --data ../shared/data/pii_dev_small.json --show-misses
    .venv/bin/python bench/pii_recall.py --negatives 0      # skip the false-positive scan

Recall of a gold span = its value no longer appears (as a substring) in the scrubbed text.
Compared: (a) PresidioScrubber with the project defaults; (b) bare Presidio: every default
recognizer, Presidio's default NER settings and threshold, AnonymizerEngine's default
"<ENTITY_TYPE>" replace, but the same spaCy model (the default en_core_web_lg is not
installed here). Gold types Presidio has no recognizer for (ADDRESS, TITLE, ...) are listed
too: they show what slips through, not a fair per-recognizer score.

False positives: placeholders per 100 characters, and placeholders per type in CLINC150 test
queries (chat-like, almost no PII: nearly every hit there is a false positive).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "pii_dev_small.json"
DEFAULT_NEGATIVES = REPO.parent / "shared" / "data" / "clinc150_data_full.json"
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
_PLACEHOLDER_TYPE = re.compile(r"<([A-Z][A-Z0-9_]*?)(?:_\d+)?>")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="presidio-research style JSON")
    parser.add_argument("--show-misses", action="store_true", help="print the gold values that survived")
    parser.add_argument("--negatives-data", type=Path, default=DEFAULT_NEGATIVES, help="CLINC150 JSON")
    parser.add_argument("--negatives", type=int, default=1000, help="CLINC test queries to scan (0: skip)")
    return parser


def load_records(path: Path) -> tuple[list[dict], list[str]]:
    """The records, plus notes on spans whose offsets disagree with their value."""
    records = json.loads(path.read_text(encoding="utf-8"))
    notes = []
    for index, record in enumerate(records):
        for span in record["spans"]:
            at = record["full_text"][span["start_position"] : span["end_position"]]
            if at != span["entity_value"]:
                where = record["full_text"].find(span["entity_value"])
                notes.append(
                    f"record {index}: {span['entity_type']} span [{span['start_position']}, "
                    f"{span['end_position']}) reads {at!r}, its entity_value {span['entity_value']!r} "
                    f"is at {where}; scored by entity_value, which is what must disappear"
                )
    return records, notes


def recall_table(records: list[dict], scrubbed: list[str]) -> tuple[Counter[str], Counter[str], list[str]]:
    gold: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    misses: list[str] = []
    for record, text in zip(records, scrubbed, strict=True):
        for span in record["spans"]:
            kind, value = span["entity_type"], span["entity_value"]
            gold[kind] += 1
            if value in text:
                misses.append(f"{kind:18} {value!r}")
            else:
                removed[kind] += 1
    return gold, removed, misses


def run_ours(texts: list[str]) -> list[str]:
    from flywheel.pii import PresidioScrubber, ScrubConfig, ScrubDoc

    scrubber = PresidioScrubber(ScrubConfig(), key=secrets.token_bytes(32))
    docs = [ScrubDoc(text, scrubber.new_registry()) for text in texts]
    return [result.value for result in scrubber.scrub_many(docs)]


def run_bare(texts: list[str], model: str) -> list[str]:
    import tldextract
    import tldextract.tldextract
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    # Offline, the stock extractor fails to download the suffix list and falls back to the
    # snapshot it ships: same answers, minus a ConnectionError traceback per process.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    provider = NlpEngineProvider()  # Presidio's default.yaml, with only the model swapped
    provider.nlp_configuration["models"][0]["model_name"] = model
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
    results = BatchAnalyzerEngine(analyzer).analyze_iterator(texts, language="en", batch_size=64)
    anonymizer = AnonymizerEngine()
    # The anonymizer declares its own RecognizerResult type; the analyzer's has the same fields.
    return [
        anonymizer.anonymize(text, found).text  # type: ignore[arg-type]
        for text, found in zip(texts, results, strict=True)
    ]


def report(
    name: str, records: list[dict], scrubbed: list[str], seconds: float, show_misses: bool
) -> Counter[str]:
    gold, removed, misses = recall_table(records, scrubbed)
    chars = sum(len(r["full_text"]) for r in records)
    # Both "<PERSON_1>" (ours) and "<PERSON>" (Presidio's default replace).
    placeholders = sum(len(_PLACEHOLDER.findall(t)) for t in scrubbed)
    empty = [t for r, t in zip(records, scrubbed, strict=True) if not r["spans"]]
    fp = sum(len(_PLACEHOLDER.findall(t)) for t in empty)
    print(f"\n== {name}  ({seconds:.1f} s)")
    print(f"{'entity type':20} {'gold':>5} {'removed':>8} {'recall':>7}")
    for kind, count in gold.most_common():
        print(f"{kind:20} {count:5d} {removed[kind]:8d} {removed[kind] / count:7.1%}")
    total = sum(gold.values())
    print(f"{'overall':20} {total:5d} {sum(removed.values()):8d} {sum(removed.values()) / total:7.1%}")
    print(
        f"placeholders per 100 chars: {100 * placeholders / chars:.2f}; "
        f"placeholders in the {len(empty)} texts without gold PII: {fp}"
    )
    if show_misses:
        print("survived:\n  " + "\n  ".join(misses))
    return removed


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    sys.path.insert(0, str(REPO))
    records, notes = load_records(args.data)
    texts = [r["full_text"] for r in records]
    print(f"{args.data}: {len(records)} texts, {sum(len(r['spans']) for r in records)} gold spans")
    for note in notes:
        print(f"note: {note}")
    negatives: list[str] = []
    if args.negatives and args.negatives_data.exists():
        clinc = json.loads(args.negatives_data.read_text(encoding="utf-8"))
        negatives = [text for text, _ in clinc["test"]][: args.negatives]

    from flywheel.pii import ScrubConfig

    runs = {
        "ours: PresidioScrubber, project defaults": lambda: run_ours(texts + negatives),
        "bare Presidio, default settings": lambda: run_bare(texts + negatives, ScrubConfig().spacy_model),
    }
    outputs = {}
    for position, (name, run) in enumerate(runs.items()):
        started = time.perf_counter()
        outputs[name] = run()
        seconds = time.perf_counter() - started
        label = f"{name}; {'incl. importing Presidio, ' if position == 0 else ''}{len(negatives)} negatives"
        report(label, records, outputs[name][: len(texts)], seconds, args.show_misses)
    if negatives:
        print(f"\n== placeholders in {len(negatives)} CLINC150 test queries (almost no real PII)")
        for name, scrubbed in outputs.items():
            kinds = Counter(m.group(1) for t in scrubbed[len(texts) :] for m in _PLACEHOLDER_TYPE.finditer(t))
            print(f"{name.split(':')[0]}: {sum(kinds.values())} {dict(kinds.most_common())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
