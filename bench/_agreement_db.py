"""The agreement bench's database part: 100,000 stored annotations by 30 annotators, SQLite or PostgreSQL.

    .venv/bin/python bench/_agreement_db.py --url sqlite:///FILE | postgres://.../NAME [--repeat 5]

(``bench/agreement.py`` runs it, once per database.) Django is set up against the database
(a PostgreSQL database is created if missing), migrated, and filled with ``bulk_create`` once
(untimed; a second run reuses the project): one project with the default SOP,
``items`` traces and tasks, each task labeled by 2 or 3 of the annotators over 12 weeks with the
default schema's fields (a ~200-character corrected answer and a domain too, as real rows
carry), 5 % gold tasks, a final sample for every task whose votes agree on the verdict, 4 % of
submissions rejected by a lead. Then, ``--repeat`` times: the read's SELECTs through the bare
driver, the service's read (``rating_data``: rows into columns), the statistics
(``dashboard_from``: every field, boundary, pace) and ``agreement_dashboard`` end to end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TYPES = ("golden", "negative", "boundary", "generic")
SAMPLE_MIX = (0.4, 0.2, 0.3, 0.1)
TASK_TYPES = ("qa", "extraction", "classification", "summarization", "generation", "chitchat", "other")
DIFFICULTY = ("easy", "medium", "hard")
ANSWER = "Your order left our warehouse on Monday and should arrive within three to five working days. " * 2


def setup_django(url: str) -> str:
    """Django against ``url`` (a PostgreSQL database is created if missing), migrated; the engine's name."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    if url.startswith("sqlite:///"):
        os.environ.setdefault("FLYWHEEL_DATA_DIR", str(Path(url.removeprefix("sqlite:///")).parent))
    else:
        _create_database(url)
        os.environ.setdefault("FLYWHEEL_DATA_DIR", tempfile.mkdtemp(prefix="flywheel-bench-agreement-"))
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return "SQLite" if connection.vendor == "sqlite" else "PostgreSQL"


def _create_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_url(value: str) -> str:
    """A PostgreSQL URL, or a database name on the local server (127.0.0.1:5432, user postgres)."""
    return value if "://" in value else f"postgres://postgres@127.0.0.1:5432/{value}"


def report(title: str, times: dict[str, list[float]], cpu: dict[str, list[float]] | None = None) -> None:
    """One line per part: best and median of the runs in milliseconds; with ``cpu``, the least CPU
    time this process spent on it (on a busy machine the wall time also waits for a core)."""
    print(title)
    runs = len(next(iter(times.values()), []))
    head = f"  {'':<50} {'best':>9} {'median':>9}"
    print(f"{head} {'cpu':>9}   ({runs} runs)" if cpu else f"{head}   ({runs} runs)")
    for label, seconds in times.items():
        best, median = min(seconds) * 1000, statistics.median(seconds) * 1000
        line = f"  {label:<50} {best:6.1f} ms {median:6.1f} ms"
        print(f"{line} {min(cpu[label]) * 1000:6.1f} ms" if cpu else line)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def seed(n_items: int, n_annotators: int, seed_: int) -> Any:
    """The project, filled once; a second run on a kept database reuses it."""
    from django.db import transaction

    from annotate.models import Annotation, Assignment, Membership, Role, Sample, Task
    from annotate.services.sops import sop_bootstrap, sop_current, sop_schema
    from flywheel.models import Cluster, Project, Trace, TraceSource

    name = f"bench-agreement-{n_items}x{n_annotators}-seed{seed_}"
    existing = Project.objects.filter(name=name).first()
    if existing is not None and Annotation.objects.filter(task__project=existing).exists():
        return existing
    from django.contrib.auth import get_user_model

    rng = np.random.default_rng(seed_)
    user_model = get_user_model()
    with transaction.atomic():
        project = Project.objects.create(name=name)
        lead = user_model.objects.create(username="bench-lead")
        sop = sop_bootstrap(project=project, user=lead)
        errors = sop_schema(sop_current(project)).field("error_types").choices
        source = TraceSource.objects.create(project=project, name="bench-agreement-src", kind="file")
        clusters = [
            Cluster.objects.create(project=project, number=n, name=f"cluster {n}") for n in range(1, 9)
        ]
        people = user_model.objects.bulk_create(
            [user_model(username=f"ann{a:02d}") for a in range(n_annotators)]
        )
        Membership.objects.bulk_create(
            [Membership(user=u, project=project, role=Role.ANNOTATOR) for u in people]
        )
        traces = Trace.objects.bulk_create(
            [Trace(project=project, source=source, external_id=f"t{i:06d}") for i in range(n_items)],
            batch_size=2000,
        )
        gold = rng.random(n_items) < 0.05
        truth = {
            "verdict": rng.integers(0, 2, n_items),
            "difficulty": rng.choice(3, n_items, p=[0.5, 0.3, 0.2]),
            "sample_type": rng.choice(4, n_items, p=SAMPLE_MIX),
            "task_type": rng.integers(0, len(TASK_TYPES), n_items),
            "errors": rng.random((n_items, len(errors))) < 0.2,
        }
        finals = [_values(truth, i, errors, rng, 1.0) for i in range(n_items)]
        tasks = Task.objects.bulk_create(
            [
                Task(
                    project=project,
                    trace=traces[i],
                    cluster=clusters[i % len(clusters)],
                    kind=Task.Kind.GOLD if gold[i] else Task.Kind.NORMAL,
                    gold_answer=finals[i] if gold[i] else None,
                    required_annotations=3,
                    model_answer=ANSWER,
                )
                for i in range(n_items)
            ],
            batch_size=2000,
        )
        skill = rng.uniform(0.6, 0.95, n_annotators)
        start = datetime(2025, 1, 6, tzinfo=UTC)
        _no_auto_now()
        turns, labels, agreed = [], [], []
        for i, task in enumerate(tasks):
            raters = rng.choice(n_annotators, size=2 + int(rng.random() < 0.5), replace=False)
            day = start + timedelta(days=float(rng.uniform(0, 84)))
            votes = []
            for a in raters:
                when = day + timedelta(minutes=float(rng.uniform(0, 600)))
                seconds = float(rng.gamma(2.0, 30.0))
                values = _values(truth, i, errors, rng, float(skill[a]))
                votes.append(values["verdict"])
                rejected = rng.random() < 0.04
                turns.append(
                    Assignment(
                        task=task,
                        annotator=people[a],
                        status=Assignment.Status.SUBMITTED,
                        sop=sop,
                        leased_at=when - timedelta(seconds=seconds),
                        lease_expires_at=when,
                        finished_at=when,
                    )
                )
                labels.append(
                    Annotation(
                        task=task,
                        annotator=people[a],
                        sop=sop,
                        values=values,
                        lineage={"annotator": people[a].username, "sop_version": 1},
                        seconds_spent=seconds,
                        status=Annotation.Status.REJECTED if rejected else Annotation.Status.ACTIVE,
                        created_at=when,
                    )
                )
            agreed.append(len(set(votes)) == 1)
        Assignment.objects.bulk_create(turns, batch_size=2000)
        for turn, annotation in zip(turns, labels, strict=True):
            annotation.assignment = turn
        Annotation.objects.bulk_create(labels, batch_size=2000)
        Sample.objects.bulk_create(
            [
                Sample(
                    project=project,
                    task=task,
                    trace=traces[i],
                    item_key=f"bench:{i}",
                    group_key=f"trace:bench:{i}",
                    answer=ANSWER,
                    values=finals[i],
                    lineage={"sample_type": finals[i]["sample_type"]},
                    sop=sop,
                    decision=Sample.Decision.CONSENSUS,
                    content_hash=f"{i:064d}",
                    decided_at=start,
                )
                for i, task in enumerate(tasks)
                if agreed[i] and not gold[i]
            ],
            batch_size=2000,
        )
    return project


def _values(truth: dict[str, np.ndarray], i: int, errors: tuple[str, ...], rng: Any, skill: float) -> dict:
    right = rng.random(5) < skill
    d = int(truth["difficulty"][i])
    return {
        "verdict": ("good", "bad")[int(truth["verdict"][i]) if right[0] else int(rng.integers(0, 2))],
        "error_types": [
            e
            for e, t in zip(errors, truth["errors"][i], strict=True)
            if (t if right[1] else rng.random() < 0.2)
        ],
        "corrected_output": ANSWER,
        "must_refuse": bool(truth["sample_type"][i] == 2) if right[2] else bool(rng.random() < 0.3),
        "sample_type": SAMPLE_TYPES[int(truth["sample_type"][i]) if right[3] else int(rng.integers(0, 4))],
        "task_type": TASK_TYPES[int(truth["task_type"][i])],
        "difficulty": DIFFICULTY[d if right[4] else int(np.clip(d + rng.choice([-1, 1]), 0, 2))],
        "domain": "shipping",
        "notes": "",
    }


def _no_auto_now() -> None:
    """Seeding only: keep the times the generator chose instead of auto_now_add's 'now'."""
    from annotate.models import Annotation, Assignment

    Annotation._meta.get_field("created_at").auto_now_add = False  # type: ignore[attr-defined]
    Assignment._meta.get_field("leased_at").auto_now_add = False  # type: ignore[attr-defined]


def bare_statements(project: Any, filters: Any) -> list[tuple[str, Any]]:
    """The SQL of the read's three SELECTs (annotations, final labels, gold answers), with parameters."""
    from annotate.selectors_agreement import agreement_schema, rating_queries

    queries = rating_queries(project, filters, agreement_schema(project))
    return [query.query.get_compiler(using=query.db).as_sql() for query in queries.values()]


def bare_select(statements: list[tuple[str, Any]]) -> None:
    """The statements run with the driver alone: the same kind of cursor as the read (server-side
    on PostgreSQL), every row fetched in batches and dropped; what the database and driver cost."""
    from django.db import connection

    from annotate.selectors_agreement import BATCH

    for sql, params in statements:
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while cursor.fetchmany(BATCH):
                pass


ROWS = (
    "bare: the same SELECTs, DB-API cursor, no ORM",
    "our read: rating_data() -> columns",
    "statistics, every field + boundary + pace",
    "TOTAL agreement_dashboard() (target < 2000 ms)",
)


def time_dashboard(
    project: Any, bootstrap: int, repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each part, ``repeat`` times: the bare SELECTs, our read, the statistics,
    the total. (The CPU is this process's: on PostgreSQL the server's share is not in it.)"""
    from annotate.agreement_filters import AgreementFilters
    from annotate.selectors_agreement import rating_data
    from annotate.services.agreement import agreement_dashboard, dashboard_from

    filters = AgreementFilters()
    agreement_dashboard(project, AgreementFilters(fields=("verdict",)), bootstrap=10)  # warm caches, imports
    wall: dict[str, list[float]] = {row: [] for row in ROWS}
    cpu: dict[str, list[float]] = {row: [] for row in ROWS}
    result: dict[str, Any] = {}

    def timed(row: str, fn: Any) -> Any:
        start, used = time.perf_counter(), time.process_time()
        out = fn()
        wall[row].append(time.perf_counter() - start)
        cpu[row].append(time.process_time() - used)
        return out

    statements = bare_statements(project, filters)
    for _ in range(repeat):
        timed(ROWS[0], lambda: bare_select(statements))
        data = timed(ROWS[1], lambda: rating_data(project=project, filters=filters))
        timed(ROWS[2], partial(dashboard_from, data, project=project, filters=filters, bootstrap=bootstrap))
        result = timed(ROWS[3], lambda: agreement_dashboard(project, filters, bootstrap=bootstrap))
    n = result["counts"]
    fields = ", ".join(result["field_order"])
    print(f"database: {n['annotations']:,} current labels, {n['submissions']:,} submissions, ", end="")
    print(f"{n['tasks']:,} tasks, {n['annotators']} annotators; fields: {fields}")
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The database part of bench/agreement.py (one database).")
    parser.add_argument("--url", required=True, help="sqlite:///FILE or postgres://.../NAME")
    parser.add_argument("--items", type=int, default=40_000)
    parser.add_argument("--annotators", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    kind = setup_django(args.url)
    print(load_average())
    project = seed(args.items, args.annotators, args.seed)
    print(f"\n{kind}: {args.url} ({time.perf_counter() - start:.0f}s to set up, not timed)")
    wall, cpu = time_dashboard(project, args.bootstrap, args.repeat)
    report(f"full dashboard from the database ({kind}), every field:", wall, cpu)
    print(load_average())


if __name__ == "__main__":
    main()
