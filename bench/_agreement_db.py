"""The agreement bench's database part: 100,000 stored annotations by 30 annotators in a temporary SQLite.

Django is set up here against a fresh SQLite file (``$FLYWHEEL_BENCH_DB`` to keep and reuse
one), migrated, and filled with ``bulk_create`` (untimed): one project with the default SOP,
``items`` traces and tasks, each task labeled by 2 or 3 of the annotators over 12 weeks with the
default schema's fields (a ~200-character corrected answer and a domain too, as real rows
carry), 5 % gold tasks, a final sample for every task whose votes agree on the verdict, 4 % of
submissions rejected by a lead. Then the service is timed as the dashboard runs it: the read from the
database (values_list + iterator, one Rating per field) and the statistics, apart and together.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TYPES = ("golden", "negative", "boundary", "generic")
SAMPLE_MIX = (0.4, 0.2, 0.3, 0.1)
TASK_TYPES = ("qa", "extraction", "classification", "summarization", "generation", "chitchat", "other")
DIFFICULTY = ("easy", "medium", "hard")
ANSWER = "Your order left our warehouse on Monday and should arrive within three to five working days. " * 2


def setup_django(path: Path | None) -> Path:
    """Django against a SQLite file of its own, migrated; returns the file's path."""
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="flywheel-bench-agreement-")) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("FLYWHEEL_DATA_DIR", str(path.parent))
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return path


def seed(n_items: int, n_annotators: int, seed_: int) -> Any:
    """The project, filled once; a second run on a kept database reuses it."""
    from django.db import transaction

    from annotate.models import Annotation, Assignment, Membership, Role, Sample, Task
    from annotate.services.sops import sop_bootstrap, sop_current, sop_schema
    from flywheel.models import Cluster, Project, Trace, TraceSource

    existing = Project.objects.filter(name="bench-agreement").first()
    if existing is not None and Annotation.objects.filter(task__project=existing).exists():
        return existing
    from django.contrib.auth import get_user_model

    rng = np.random.default_rng(seed_)
    user_model = get_user_model()
    with transaction.atomic():
        project = Project.objects.create(name="bench-agreement")
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


def _bare_select(project: Any, filters: Any) -> float:
    """The rows the read needs, fetched with the driver alone: what the database itself costs."""
    from django.db import connection

    from annotate.selectors_agreement import JSONWithout, agreement_schema, filtered_annotations

    text = agreement_schema(project).text_names
    columns = (
        "task_id",
        "annotator_id",
        "label",
        "created_at",
        "status",
        "round",
        "task__round",
        "seconds_spent",
    )
    query = (
        filtered_annotations(project, filters)
        .annotate(label=JSONWithout("values", keys=text))
        .values_list(*columns)
        .order_by()
    )
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(*query.query.sql_with_params())
        while cursor.fetchmany(2000):
            pass
    return time.perf_counter() - start


def time_dashboard(project: Any, bootstrap: int) -> list[tuple[str, float]]:
    """The dashboard from the database: read, statistics, and the two together (all fields)."""
    from annotate.agreement_filters import AgreementFilters
    from annotate.selectors_agreement import rating_data
    from annotate.services.agreement import agreement_dashboard, dashboard_from

    filters = AgreementFilters()
    agreement_dashboard(project, AgreementFilters(fields=("verdict",)), bootstrap=10)  # warm caches, imports
    rows: list[tuple[str, float]] = []
    rows.append(("bare: the same SELECT, DB-API cursor, no ORM", _bare_select(project, filters)))
    start = time.perf_counter()
    data = rating_data(project=project, filters=filters)
    rows.append(("DB read: ratings + submissions + boundary", time.perf_counter() - start))
    start = time.perf_counter()
    dashboard_from(data, project=project, filters=filters, bootstrap=bootstrap)
    rows.append(("statistics, every field (target < 2000 ms)", time.perf_counter() - start))
    start = time.perf_counter()
    result = agreement_dashboard(project, filters, bootstrap=bootstrap)
    rows.append(("TOTAL agreement_dashboard(), end to end", time.perf_counter() - start))
    n = result["counts"]
    fields = ", ".join(result["field_order"])
    print(f"database: {n['annotations']:,} current labels, {n['submissions']:,} submissions, ", end="")
    print(f"{n['tasks']:,} tasks, {n['annotators']} annotators; fields: {fields}")
    return rows
