"""EXPLAIN ANALYZE of the queries behind the main pages and the queue, on the load database.

    .venv/bin/python -m bench.load.explain [--plans]     # one line per query; --plans prints each plan

Runs each query as the service builds it (the ORM querysets of the selectors and services, for
annotator ``ann00`` and the project ``load``) inside a transaction that is rolled back, and prints
its execution time and the plan's top node, so a missing index shows as a sequential scan.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from bench.load.build import DEFAULT_URL, django_setup


def cases() -> list[tuple[str, Callable[[], Any]]]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.utils import timezone

    from annotate.models import SOP, Annotation, Assignment, ReviewAction, Sample, Task
    from annotate.selectors_review import QueueFilters, review_queue
    from annotate.services.queue import free_slot, not_mine_this_round
    from flywheel.models import Failure, Project, Trace
    from flywheel.selectors.clusters import cluster_list, members

    project = Project.objects.get(name="load")
    user = get_user_model().objects.get(username="ann00")
    now = timezone.now()
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    pending = review_queue(project=project, filters=QueueFilters())
    first = pending.first()
    big = Failure.objects.filter(project=project, cluster__isnull=False).values("cluster").first()
    return [
        (
            "next-task: pop (FOR UPDATE SKIP LOCKED)",
            lambda: (
                Task.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("trace", "cluster")
                .filter(free_slot(), not_mine_this_round(user), project=project, status="open", kind="normal")
                .order_by("-priority", "id")[:1]
            ),
        ),
        (
            "next-task: held lease or rework",
            lambda: (
                Assignment.objects.filter(
                    task__project=project, annotator=user, status__in=["leased", "returned"]
                )
                .select_related("task__trace", "task__cluster", "sop")
                .order_by("status", "pk")[:1]
            ),
        ),
        (
            "next-task: lapsed leases",
            lambda: Assignment.objects.filter(
                task__project=project, status="leased", lease_expires_at__lte=now
            ).values_list("pk", "task_id", "return_comment")[:1000],
        ),
        (
            "label page: my annotations today (count)",
            lambda: _count(
                Annotation.objects.filter(task__project=project, annotator=user, created_at__gte=start_of_day)
            ),
        ),
        (
            "label page: tasks left for me (count)",
            lambda: _count(
                Task.objects.filter(
                    free_slot(), not_mine_this_round(user), project=project, status="open", kind="normal"
                )
            ),
        ),
        ("review queue: first page", lambda: pending[:50]),
        (
            "review queue: per bucket",
            lambda: pending.order_by().values("review_bucket").annotate(n=Count("pk")),
        ),
        ("review item: votes", lambda: Annotation.objects.filter(task=first, round=1, status="active")),
        (
            "trace list: first page",
            lambda: Trace.objects.filter(project=project).order_by("-timestamp", "-id")[:50],
        ),
        ("trace list: count", lambda: _count(Trace.objects.filter(project=project))),
        ("clusters: list with growth", lambda: cluster_list(project=project)),
        (
            "cluster detail: members page",
            lambda: members(project=project, cluster=big and project.clusters.get(pk=big["cluster"]))[:50],
        ),
        (
            "dashboard cache key: annotations",
            lambda: _state(Annotation.objects.filter(task__project=project)),
        ),
        ("dashboard cache key: tasks", lambda: _state(Task.objects.filter(project=project))),
        ("dashboard cache key: review actions", lambda: _state(ReviewAction.objects.filter(project=project))),
        ("dashboard cache key: samples", lambda: _state(Sample.objects.filter(project=project))),
        (
            "current SOP",
            lambda: SOP.objects.filter(project=project, status="published").order_by("-version")[:1],
        ),
    ]


def _count(rows: Any) -> Any:
    from django.db.models import Count, Value

    return rows.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk"))


def _state(rows: Any) -> Any:
    """The cache key's aggregate (newest pk, count) as a queryset, so it can be explained."""
    from django.db.models import Count, Max, Value

    return rows.order_by().annotate(one=Value(1)).values("one").annotate(newest=Max("pk"), n=Count("pk"))


def explain(sql: str, params: Any) -> str:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--plans", action="store_true", help="print every plan in full")
    args = parser.parse_args(argv)
    django_setup(args.database_url)
    from django.db import transaction
    from django.db.models import QuerySet

    for name, make in cases():
        got: QuerySet = make()
        with transaction.atomic():  # a FOR UPDATE query compiles only inside one
            sql, params = got.query.sql_with_params()
        plan = explain(sql, params)
        ms = float(re.search(r"Execution Time: ([\d.]+)", plan).group(1))  # type: ignore[union-attr]
        top = plan.splitlines()[0].split("  (")[0].strip()
        print(f"{name:42s} {ms:9.1f} ms   {top}")
        if args.plans:
            print(plan, "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
