"""Agreement dashboard speed: 100,000 annotations by 30 annotators, beside the bare library calls.

    .venv/bin/python bench/agreement.py [--items 40000] [--annotators 30] [--bootstrap 200] [--seed 0]
                                        [--repeat 5] [--no-db] [--db FILE] [--postgres NAME_OR_URL]

Synthetic data (seeded): --items items, each rated by 2 or 3 of --annotators annotators
(~2.5 per item: 100k ratings per field), over 12 weeks. Each annotator has their own accuracy
(0.6-0.95) against a hidden truth; 5 % of items are gold tasks; every item has a final label.
Four fields, as in the default schema: verdict (nominal, 3 choices), difficulty (ordinal, 3),
error_types (multi-choice, 5 choices: 5 binary sub-fields + exact-set match), must_refuse
(bool, and on the boundary items alone for boundary consistency). Each rating also has a
submission record (seconds spent, rejected or not).

Printed, each as the best and the median of --repeat runs, with the load average before and
after (other work on the machine slows every number): the core alone (no database) part by
part on one field (the ordinal one, the largest report); the full dashboard of the four
fields end to end (field_report with per-pair kappas, Fleiss, alpha with a --bootstrap
resample interval, per-annotator table and confusion matrices, weekly trend; plus boundary
consistency), once from ``Rating`` records (the CSV path) and once from ``RatingColumns``
(what the database read hands over); then the bare library calls on the same arrays:
krippendorff.alpha once, statsmodels fleiss_kappa once, sklearn cohen_kappa_score on the 435
pairs (one run: it takes seconds), sklearn confusion_matrix for the 30 annotators.

Last, the same from the database (``bench/_agreement_db.py``, in a process of its own per
database): the annotations are stored once (seeding is not timed) in a temporary SQLite file
(``--db FILE`` keeps and reuses one) and, with ``--postgres``, in a PostgreSQL database
(``--postgres flywheel_bench_agreement`` on the local server, created if missing and reused).
Timed there: the read's SELECTs through the bare driver (the floor), our read (``rating_data``:
the rows into columns, submissions, boundary items), the statistics on every field of the
default schema (six: verdict, error_types, must_refuse, sample_type, task_type, difficulty,
plus boundary consistency and pace) and ``agreement_dashboard`` end to end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VERDICT = ("good", "bad", "unsure")
DIFFICULTY = ("easy", "medium", "hard")
ERRORS = ("factual", "tone", "format", "refusal", "policy")


def synthetic(n_items: int, n_annotators: int, seed: int) -> tuple[dict[str, list], list, set[str]]:
    """(field -> ratings, work records, boundary item ids)."""
    from annotate.agreement import Rating, Work

    rng = np.random.default_rng(seed)
    names = [f"ann{a:02d}" for a in range(n_annotators)]
    skill = rng.uniform(0.6, 0.95, n_annotators)
    start = datetime(2025, 1, 6, tzinfo=UTC)
    truth = {
        "verdict": rng.integers(0, 3, n_items),
        "difficulty": rng.choice(3, n_items, p=[0.5, 0.3, 0.2]),
        "must_refuse": rng.random(n_items) < 0.3,
    }
    error_truth = rng.random((n_items, len(ERRORS))) < 0.25
    gold = rng.random(n_items) < 0.05
    boundary = rng.random(n_items) < 0.1
    fields: dict[str, list] = {"verdict": [], "difficulty": [], "error_types": [], "must_refuse": []}
    work = []
    for i in range(n_items):
        item = f"task{i}"
        raters = rng.choice(n_annotators, size=2 + int(rng.random() < 0.5), replace=False)
        day = start + timedelta(days=float(rng.uniform(0, 84)))
        for a in raters:
            when = day + timedelta(minutes=float(rng.uniform(0, 600)))
            right = rng.random(4) < skill[a]
            v, d, r = (int(truth[k][i]) for k in ("verdict", "difficulty", "must_refuse"))
            values = {
                "verdict": VERDICT[v if right[0] else int(rng.integers(0, 3))],
                "difficulty": DIFFICULTY[d if right[1] else int(np.clip(d + rng.choice([-1, 1]), 0, 2))],
                "must_refuse": bool(r) if right[2] else not r,
                "error_types": [
                    e
                    for e, t in zip(ERRORS, error_truth[i], strict=True)
                    if (t if right[3] else rng.random() < 0.3)
                ],
            }
            finals = {
                "verdict": VERDICT[v],
                "difficulty": DIFFICULTY[d],
                "must_refuse": bool(r),
                "error_types": [e for e, t in zip(ERRORS, error_truth[i], strict=True) if t],
            }
            for name, value in values.items():
                fields[name].append(
                    Rating(
                        item=item,
                        annotator=names[a],
                        value=value,
                        when=when,
                        gold=finals[name] if gold[i] else None,
                        final=finals[name],
                    )
                )
            work.append(
                Work(names[a], item, seconds=float(rng.gamma(2.0, 30.0)), rejected=rng.random() < 0.04)
            )
    return fields, work, {f"task{i}" for i in np.flatnonzero(boundary)}


@dataclass
class Timings:
    """Seconds per part and run: wall clock, and this process's CPU time (a busy machine adds waiting)."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)


def timed(label: str, fn: Callable[[], Any], rows: Timings, repeat: int = 1) -> Any:
    """Runs ``fn`` ``repeat`` times, records each run's seconds under ``label``; the last result."""
    for _ in range(repeat):
        start, used = time.perf_counter(), time.process_time()
        result = fn()
        rows.wall.setdefault(label, []).append(time.perf_counter() - start)
        rows.cpu.setdefault(label, []).append(time.process_time() - used)
    return result


LEVELS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "verdict": ("nominal", VERDICT),
    "difficulty": ("ordinal", DIFFICULTY),
    "error_types": ("nominal", ERRORS),
    "must_refuse": ("nominal", (False, True)),
}


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    from _agreement_db import load_average, postgres_url, report

    from annotate.agreement import (
        RatingColumns,
        WorkColumns,
        annotator_pace,
        annotator_stats,
        fleiss,
        krippendorff_alpha,
        pairwise_cohen,
        percent_agreement,
        rating_table,
        rating_table_from_columns,
        trend,
    )

    print(load_average())
    start = time.perf_counter()
    fields, work, boundary = synthetic(args.items, args.annotators, args.seed)
    n = sum(len(r) for r in fields.values())
    print(f"synthetic data: {n:,} ratings over {len(fields)} fields, {len(work):,} submissions, ", end="")
    print(f"{len(boundary):,} boundary items ({time.perf_counter() - start:.1f}s, not timed below)")
    print(f"bootstrap: {args.bootstrap} resamples of the items, percentile 95 % interval")
    print(f"each time: best and median of {args.repeat} runs\n")
    warm_up()

    difficulty, b, k = fields["difficulty"], args.bootstrap, args.repeat
    columns = {name: RatingColumns.from_ratings(ratings) for name, ratings in fields.items()}
    submissions = WorkColumns.from_work(work)
    parts = Timings()
    timed(
        "shape: 100k Ratings -> table",
        lambda: rating_table(difficulty, level="ordinal", categories=DIFFICULTY),
        parts,
        k,
    )
    table = timed(
        "shape: 100k rows as columns -> table",
        lambda: rating_table_from_columns(columns["difficulty"], level="ordinal", categories=DIFFICULTY),
        parts,
        k,
    )
    fresh = partial(replace, table)  # a copy without cached work (pairs, weeks): each run starts over
    timed("pairs of co-rated ratings", lambda: fresh().pairs, parts, k)
    timed("percent agreement", lambda: percent_agreement(fresh()), parts, k)
    timed("Cohen, 435 pairs, unweighted", lambda: pairwise_cohen(fresh()), parts, k)
    timed(
        "Cohen, 435 pairs, linear + quadratic",
        lambda: [pairwise_cohen(t, w) for t in [fresh()] for w in ("linear", "quadratic")],
        parts,
        k,
    )
    timed("Fleiss (statsmodels)", lambda: fleiss(fresh()), parts, k)
    timed("alpha point estimate (library)", lambda: krippendorff_alpha(fresh(), bootstrap=0), parts, k)
    timed(f"alpha + {b} bootstrap resamples", lambda: krippendorff_alpha(fresh(), bootstrap=b), parts, k)
    timed("pace: 100k Work records -> per annotator", lambda: annotator_pace(work), parts, k)
    pace = timed("pace: 100k submissions as columns", lambda: annotator_pace(submissions), parts, k)
    timed(
        "per-annotator table + confusion",
        lambda: annotator_stats(fresh(), pace=pace, min_share=0.66),
        parts,
        k,
    )
    timed("weekly trend (12 weeks)", lambda: trend(fresh()), parts, k)
    report("difficulty (ordinal, one field), part by part:", parts.wall, parts.cpu)

    for title, source in (("Rating records", fields), ("columns", columns)):
        whole = core_dashboard(source, submissions, boundary, b, k)
        report(f"\nfull dashboard, core alone, from {title} (4 fields):", whole.wall, whole.cpu)
    library = bare_calls(table, k)
    report("\nbare library calls on the same arrays (difficulty):", library.wall, library.cpu)
    print(load_average())
    if args.no_db:
        return
    urls = [f"sqlite:///{Path(args.db).resolve()}" if args.db else None]
    if args.postgres:
        urls.append(postgres_url(args.postgres))
    for url in urls:
        database_part(url, args)


def core_dashboard(
    source: dict[str, Any], submissions: Any, boundary: set[str], bootstrap: int, repeat: int
) -> Timings:
    """The statistics of the dashboard on the four fields, from records or columns: seconds per part."""
    from annotate.agreement import annotator_pace, boundary_consistency, field_report

    whole = Timings()
    pace = timed("annotator pace (once, for every field)", lambda: annotator_pace(submissions), whole, repeat)
    for name, (level, categories) in LEVELS.items():

        def one(name: str = name, level: str = level, categories: tuple[Any, ...] = categories) -> Any:
            return field_report(
                source[name], level=level, categories=categories, pace=pace, bootstrap=bootstrap
            )

        timed(f"field_report {name} ({level})", one, whole, repeat)
    refuse = source["must_refuse"]
    timed(
        "boundary consistency (must_refuse)",
        lambda: boundary_consistency(refuse, boundary_items=boundary, bootstrap=bootstrap),
        whole,
        repeat,
    )
    for times in (whole.wall, whole.cpu):
        times["TOTAL (target < 2000 ms)"] = [sum(run) for run in zip(*times.values(), strict=True)]
    return whole


def database_part(url: str | None, args: argparse.Namespace) -> None:
    """``bench/_agreement_db.py`` in a process of its own (Django is set up once per process)."""
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-agreement-") as scratch:
        url = url or f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
        options = ["--items", args.items, "--annotators", args.annotators, "--seed", args.seed]
        options += ["--bootstrap", args.bootstrap, "--repeat", args.repeat]
        script = Path(__file__).resolve().parent / "_agreement_db.py"
        subprocess.run([sys.executable, str(script), "--url", url, *map(str, options)], check=True)


def bare_calls(table: Any, repeat: int) -> Timings:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score, confusion_matrix
    from statsmodels.stats.inter_rater import fleiss_kappa

    rows = Timings()
    reliability = table.matrix.T  # raters x items, NaN = missing: the library's own input form
    timed(
        "krippendorff.alpha(reliability_data)",
        lambda: krippendorff.alpha(reliability, level_of_measurement="ordinal"),
        rows,
        repeat,
    )
    per_item = table.raters_per_item
    m = 2 if (per_item == 2).sum() >= (per_item == 3).sum() else 3
    codes = np.sort(np.nan_to_num(table.matrix[per_item == m], nan=-1), axis=1)[:, -m:].astype(int)
    counts = np.stack([(codes == c).sum(axis=1) for c in range(3)], axis=1)
    timed("statsmodels fleiss_kappa(counts)", lambda: fleiss_kappa(counts), rows, repeat)
    dense, a = table.matrix, len(table.annotators)

    def sklearn_pairs() -> None:
        for i in range(a):
            for j in range(i + 1, a):
                both = ~np.isnan(dense[:, i]) & ~np.isnan(dense[:, j])
                if both.sum() >= 2:
                    cohen_kappa_score(dense[both, i], dense[both, j], labels=[0, 1, 2])

    timed("sklearn cohen_kappa_score x 435 pairs", sklearn_pairs, rows, 1)
    known = ~np.isnan(table.final)

    def sklearn_confusion() -> None:
        for r in range(a):
            mine = known & (table.rater == r)
            confusion_matrix(table.code[mine], table.final[mine], labels=[0, 1, 2])

    timed("sklearn confusion_matrix x 30 annotators", sklearn_confusion, rows, repeat)
    return rows


def warm_up() -> None:
    """Pay imports (statsmodels takes ~1 s) and first-call costs before timing."""
    from annotate.agreement import Rating, RatingColumns, field_report

    tiny = [Rating(f"i{i}", f"a{a}", DIFFICULTY[(i + a) % 3]) for i in range(20) for a in range(3)]
    field_report(tiny, level="ordinal", categories=DIFFICULTY, bootstrap=10)
    field_report(RatingColumns.from_ratings(tiny), level="ordinal", categories=DIFFICULTY, bootstrap=10)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=40_000)
    parser.add_argument("--annotators", type=int, default=30)
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples behind each alpha interval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each timing (best and median shown)")
    parser.add_argument("--no-db", action="store_true", help="skip the part that reads from a database")
    parser.add_argument(
        "--db", metavar="FILE", help="SQLite file to build (or reuse) instead of a temporary one"
    )
    parser.add_argument(
        "--postgres",
        metavar="NAME_OR_URL",
        help="also time PostgreSQL: a database on 127.0.0.1:5432 (created if missing; reused) or a URL",
    )
    return parser


if __name__ == "__main__":
    main()
