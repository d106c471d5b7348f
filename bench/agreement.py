"""Agreement dashboard speed: 100,000 annotations by 30 annotators, beside the bare library calls.

    .venv/bin/python bench/agreement.py [--items 40000] [--annotators 30] [--bootstrap 200] [--seed 0]
                                        [--no-db] [--db FILE]

Synthetic data (seeded): --items items, each rated by 2 or 3 of --annotators annotators
(~2.5 per item: 100k ratings per field), over 12 weeks. Each annotator has their own accuracy
(0.6-0.95) against a hidden truth; 5 % of items are gold tasks; every item has a final label.
Four fields, as in the default schema: verdict (nominal, 3 choices), difficulty (ordinal, 3),
error_types (multi-choice, 5 choices: 5 binary sub-fields + exact-set match), must_refuse
(bool, and on the boundary items alone for boundary consistency). Each rating also has a
submission record (seconds spent, rejected or not).

Printed: the time of each part of the statistics on one field (the ordinal one, the largest
report), the end-to-end time of the full dashboard (field_report for all four fields with
per-pair kappas, Fleiss, alpha with a --bootstrap resample interval, per-annotator table and
confusion matrices, weekly trend; plus boundary consistency), then the bare library calls on
the same arrays: krippendorff.alpha once, statsmodels fleiss_kappa once, sklearn
cohen_kappa_score on the 435 pairs, sklearn confusion_matrix for the 30 annotators.

Last, the same from the database (``bench/_agreement_db.py``): the annotations are stored in a
temporary SQLite file (``--db FILE`` keeps and reuses one; seeding is not timed) and the
service's ``agreement_dashboard`` is timed as the page runs it: the DB read (values_list +
iterator into ratings, submissions and boundary items), the statistics on every field of the
default schema (six: verdict, error_types, must_refuse, sample_type, task_type, difficulty),
and the two together.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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


def timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, float]]) -> Any:
    start = time.perf_counter()
    result = fn()
    rows.append((label, time.perf_counter() - start))
    return result


LEVELS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "verdict": ("nominal", VERDICT),
    "difficulty": ("ordinal", DIFFICULTY),
    "error_types": ("nominal", ERRORS),
    "must_refuse": ("nominal", (False, True)),
}


def report(title: str, rows: list[tuple[str, float]]) -> None:
    print(title)
    for label, seconds in rows:
        print(f"  {label:<44} {seconds * 1000:8.1f} ms")


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    from annotate.agreement import (
        annotator_pace,
        annotator_stats,
        boundary_consistency,
        field_report,
        fleiss,
        krippendorff_alpha,
        pairwise_cohen,
        percent_agreement,
        rating_table,
        trend,
    )

    start = time.perf_counter()
    fields, work, boundary = synthetic(args.items, args.annotators, args.seed)
    n = sum(len(r) for r in fields.values())
    print(f"synthetic data: {n:,} ratings over {len(fields)} fields, {len(work):,} submissions, ", end="")
    print(f"{len(boundary):,} boundary items ({time.perf_counter() - start:.1f}s, not timed below)")
    print(f"bootstrap: {args.bootstrap} resamples of the items, percentile 95 % interval\n")
    warm_up()

    difficulty, b = fields["difficulty"], args.bootstrap
    parts: list[tuple[str, float]] = []
    table = timed(
        "shape: 100k ratings -> table",
        lambda: rating_table(difficulty, level="ordinal", categories=DIFFICULTY),
        parts,
    )
    timed("pairs of co-rated ratings", lambda: table.pairs, parts)
    timed("percent agreement", lambda: percent_agreement(table), parts)
    timed("Cohen, 435 pairs, unweighted", lambda: pairwise_cohen(table), parts)
    timed(
        "Cohen, 435 pairs, linear + quadratic",
        lambda: [pairwise_cohen(table, w) for w in ("linear", "quadratic")],
        parts,
    )
    timed("Fleiss (statsmodels)", lambda: fleiss(table), parts)
    timed("alpha point estimate (library)", lambda: krippendorff_alpha(table, bootstrap=0), parts)
    timed(f"alpha + {b} bootstrap resamples", lambda: krippendorff_alpha(table, bootstrap=b), parts)
    pace = timed("pace: 100k submissions -> per annotator", lambda: annotator_pace(work), parts)
    timed("per-annotator table + confusion", lambda: annotator_stats(table, pace=pace, min_share=0.66), parts)
    timed("weekly trend (12 weeks)", lambda: trend(table), parts)
    report("difficulty (ordinal, one field), part by part:", parts)

    whole: list[tuple[str, float]] = []
    pace = timed("annotator pace (once, for every field)", lambda: annotator_pace(work), whole)
    for name, (level, categories) in LEVELS.items():

        def one(name: str = name, level: str = level, categories: tuple[Any, ...] = categories) -> Any:
            return field_report(fields[name], level=level, categories=categories, pace=pace, bootstrap=b)

        timed(f"field_report {name} ({level})", one, whole)
    refuse = fields["must_refuse"]
    timed(
        "boundary consistency (must_refuse)",
        lambda: boundary_consistency(refuse, boundary_items=boundary),
        whole,
    )
    whole.append(("TOTAL (target < 2000 ms)", sum(s for _, s in whole)))
    report("\nfull dashboard, end to end:", whole)
    report("\nbare library calls on the same arrays (difficulty):", bare_calls(table))
    if not args.no_db:
        from _agreement_db import seed, setup_django, time_dashboard

        start = time.perf_counter()
        path = setup_django(Path(args.db) if args.db else None)
        project = seed(args.items, args.annotators, args.seed)
        print(f"\nstored in {path} ({time.perf_counter() - start:.0f}s to build, not timed)")
        report("full dashboard from the database (SQLite), every field:", time_dashboard(project, b))


def bare_calls(table: Any) -> list[tuple[str, float]]:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score, confusion_matrix
    from statsmodels.stats.inter_rater import fleiss_kappa

    rows: list[tuple[str, float]] = []
    reliability = table.matrix.T  # raters x items, NaN = missing: the library's own input form
    timed(
        "krippendorff.alpha(reliability_data)",
        lambda: krippendorff.alpha(reliability, level_of_measurement="ordinal"),
        rows,
    )
    per_item = table.raters_per_item
    m = 2 if (per_item == 2).sum() >= (per_item == 3).sum() else 3
    codes = np.sort(np.nan_to_num(table.matrix[per_item == m], nan=-1), axis=1)[:, -m:].astype(int)
    counts = np.stack([(codes == c).sum(axis=1) for c in range(3)], axis=1)
    timed("statsmodels fleiss_kappa(counts)", lambda: fleiss_kappa(counts), rows)
    dense, a = table.matrix, len(table.annotators)

    def sklearn_pairs() -> None:
        for i in range(a):
            for j in range(i + 1, a):
                both = ~np.isnan(dense[:, i]) & ~np.isnan(dense[:, j])
                if both.sum() >= 2:
                    cohen_kappa_score(dense[both, i], dense[both, j], labels=[0, 1, 2])

    timed("sklearn cohen_kappa_score x 435 pairs", sklearn_pairs, rows)
    known = ~np.isnan(table.final)

    def sklearn_confusion() -> None:
        for r in range(a):
            mine = known & (table.rater == r)
            confusion_matrix(table.code[mine], table.final[mine], labels=[0, 1, 2])

    timed("sklearn confusion_matrix x 30 annotators", sklearn_confusion, rows)
    return rows


def warm_up() -> None:
    """Pay imports (statsmodels takes ~1 s) and first-call costs before timing."""
    from annotate.agreement import Rating, field_report

    tiny = [Rating(f"i{i}", f"a{a}", DIFFICULTY[(i + a) % 3]) for i in range(20) for a in range(3)]
    field_report(tiny, level="ordinal", categories=DIFFICULTY, bootstrap=10)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=40_000)
    parser.add_argument("--annotators", type=int, default=30)
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples behind each alpha interval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-db", action="store_true", help="skip the part that reads from a database")
    parser.add_argument(
        "--db", metavar="FILE", help="SQLite file to build (or reuse) instead of a temporary one"
    )
    return parser


if __name__ == "__main__":
    main()
