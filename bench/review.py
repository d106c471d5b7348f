"""Review speed: the queue page, the item page and bulk accept over a large queue, beside bare SQL.

    .venv/bin/python bench/review.py [--pending 20000] [--bulk 2000] [--database-url URL]

Loads --pending single-annotated tasks waiting for a lead (plus 5% disagreements) into a fresh
SQLite database in a temporary directory (or the PostgreSQL database given, which is emptied
first). Then, as a signed-in lead through Django's test client: the queue page and an item
page (median of 20 requests), and ``review_bulk_accept`` of --bulk items. Baselines: the
queue page's one list query by itself (no counts, no rendering), and bulk accept as a naive
script writes it: one bulk INSERT of the samples and one UPDATE, without per-item locks, the
schema check or the review history.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOOD = {
    "verdict": "bad",
    "sample_type": "negative",
    "corrected_output": "It ships tomorrow.",
    "task_type": "qa",
}


def setup(database_url: str | None, workdir: Path) -> None:
    os.environ.update(DEBUG="1", FLYWHEEL_DATA_DIR=str(workdir))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if database_url:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def load(pending: int) -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model

    from annotate.labeling import clean_label
    from annotate.models import Annotation, Assignment, LabelingPolicy, Membership, Task
    from annotate.services.sops import sop_bootstrap, sop_schema
    from flywheel.models import Project, Trace, TraceSource

    users = get_user_model().objects
    project = Project.objects.create(name="bench-review")
    lead = users.create_user("lead")
    ann = users.create_user("ann")
    Membership.objects.create(user=lead, project=project, role="lead")
    Membership.objects.create(user=ann, project=project, role="annotator")
    sop = sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    values = clean_label(sop_schema(sop), GOOD)
    source = TraceSource.objects.create(project=project, name="bench", kind="file")
    for start in range(0, pending, 2000):
        n = min(2000, pending - start)
        traces = Trace.objects.bulk_create(
            Trace(
                project=project,
                source=source,
                external_id=f"t{start + i:07d}",
                conversation=[
                    {"role": "user", "content": f"Where is order {start + i}?"},
                    {"role": "assistant", "content": "Your order shipped."},
                ],
            )
            for i in range(n)
        )
        tasks = Task.objects.bulk_create(
            Task(
                project=project,
                trace=t,
                model_answer="Your order shipped.",
                priority=float((start + i) % 97),
                status="done",
                submitted_count=1,
                review="pending",
                review_bucket=0 if (start + i) % 20 == 0 else 2,
            )
            for i, t in enumerate(traces)
        )
        turns = Assignment.objects.bulk_create(
            Assignment(task=t, annotator=ann, sop=sop, status="submitted", lease_expires_at=t.created_at)
            for t in tasks
        )
        Annotation.objects.bulk_create(
            Annotation(
                task=t, assignment=a, annotator=ann, sop=sop, values=values, lineage={"annotator": "ann"}
            )
            for t, a in zip(tasks, turns, strict=True)
        )
    return project, lead


def median_ms(call, repeat: int = 20) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pending", type=int, default=20_000)
    parser.add_argument("--bulk", type=int, default=2_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL database to empty and use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(args.database_url, Path(tmp))
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from annotate.models import Sample, Task
    from annotate.selectors_review import QueueFilters, review_queue
    from annotate.services.review import review_bulk_accept

    started = time.perf_counter()
    project, lead = load(args.pending)
    took = time.perf_counter() - started
    print(f"loaded {args.pending:,} pending items in {took:.1f} s ({connection.vendor})")
    client = Client(HTTP_HOST="localhost")
    client.force_login(lead)
    first = review_queue(project=project).first()
    assert first is not None
    queue_page = median_ms(lambda: client.get(f"/projects/{project.pk}/review/"))
    item_page = median_ms(lambda: client.get(f"/projects/{project.pk}/review/{first.pk}/"))
    bare_list = median_ms(lambda: list(review_queue(project=project)[:50]))
    print(f"queue page        {queue_page:8.1f} ms  (bare list query of one page: {bare_list:.1f} ms)")
    print(f"item page         {item_page:8.1f} ms")

    started = time.perf_counter()
    done = review_bulk_accept(project=project, reviewer=lead, bucket=2, limit=args.bulk)
    ours = done / (time.perf_counter() - started)
    rest = review_queue(project=project, filters=QueueFilters(bucket=2))
    ids = list(rest.values_list("pk", flat=True)[: args.bulk])
    started = time.perf_counter()
    with transaction.atomic():
        now = timezone.now()
        Sample.objects.bulk_create(
            Sample(
                project=project,
                task_id=pk,
                item_key=f"bare:{pk}",
                group_key="bare",
                answer="x",
                decided_at=now,
            )
            for pk in ids
        )
        Task.objects.filter(pk__in=ids).update(review="final")
    bare = len(ids) / (time.perf_counter() - started)
    print(f"bulk accept       {ours:8.0f} items/s  (bare bulk INSERT + UPDATE: {bare:,.0f} items/s)")


if __name__ == "__main__":
    main()
