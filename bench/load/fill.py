"""The rows of the load database (see :mod:`bench.load.build`). Needs Django set up on PostgreSQL.

Every trace's content comes from ``random.Random(seed, index)``, so the failures, tasks and samples
made later see the same conversation as the trace row without holding a million in memory.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from annotate.labeling import clean_label
from annotate.models import (
    Annotation,
    Assignment,
    LabelingPolicy,
    Membership,
    ReviewAction,
    Sample,
    Task,
)
from annotate.services.sops import sop_bootstrap, sop_schema
from bench.load import synth
from bench.load.copyrows import Table, dumps, move_sequence
from flywheel.models import Cluster, ClusterRun, Failure, Observation, Project, Score, Trace, TraceSource

N_CLUSTERS = 60
N_GOLD = 300
SOURCE = "load-file"
# Shares of the labeled tasks (the first ones by id): accepted single labels, consensus pairs,
# single labels waiting for review, disagreements waiting for review.
ACCEPTED, CONSENSUS, PENDING_SINGLE, DISAGREEMENT = 0.30, 0.05, 0.075, 0.0125


def _content(seed: int, index: int) -> synth.Conversation:
    return synth.conversation(random.Random(seed * 10_000_019 + index))


def _bar(desc: str, total: int) -> Any:
    return tqdm(total=total, desc=desc, unit="row", unit_scale=True, file=sys.stderr, mininterval=2)


def _people(project: Project, annotators: int) -> tuple[list[Any], list[Any]]:
    user_model = get_user_model()
    password = make_password(__import__("bench.load.build", fromlist=["PASSWORD"]).PASSWORD)
    anns = user_model.objects.bulk_create(
        user_model(username=f"ann{i:02d}", password=password) for i in range(annotators)
    )
    leads = user_model.objects.bulk_create(
        user_model(username=f"lead{i}", password=password) for i in range(2)
    )
    Membership.objects.bulk_create(
        [Membership(user=u, project=project, role="annotator") for u in anns]
        + [Membership(user=u, project=project, role="lead") for u in leads]
    )
    from rest_framework.authtoken.models import Token

    Token.objects.bulk_create(Token(key=secrets.token_hex(20), user=u) for u in [*anns, *leads])
    return anns, leads


def fill(*, traces: int, tasks: int, annotators: int, seed: int) -> dict[str, int]:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    project = Project.objects.create(name="load", description="building")
    source = TraceSource.objects.create(project=project, name=SOURCE, kind=TraceSource.Kind.FILE)
    anns, leads = _people(project, annotators)
    sop = sop_bootstrap(project=project, user=leads[0])
    LabelingPolicy.objects.create(project=project)
    run = ClusterRun.objects.create(
        project=project, kind="full", status="succeeded", finished_at=now, summary="load build"
    )
    rng = np.random.default_rng(seed)
    clusters = Cluster.objects.bulk_create(
        Cluster(
            project=project,
            number=i + 1,
            name=f"{topic} · {word}",
            keywords=[topic, word, "order"],
            centroid=rng.standard_normal(384).astype(np.float32).tobytes(),
            first_run=run,
            last_run=run,
            is_new=False,
        )
        for i, (topic, word) in enumerate(
            (t[0], w)
            for w in ("late", "refund", "json", "tone", "refusal", "wrong", "missing", "slow")
            for t in synth.TOPICS
        )
        if i < N_CLUSTERS
    )
    t0 = time.perf_counter()
    start = now - timedelta(days=30)
    step = timedelta(days=30) / traces
    _copy_traces(project, source, traces, seed, start, step, now)
    n_failures = traces // 4
    cluster_of = _copy_failures(project, clusters, n_failures, seed, now)
    _copy_scores(n_failures, start, step, now)
    counts = _copy_labeling(
        project=project,
        sop=sop,
        tasks=tasks,
        annotators=anns,
        leads=leads,
        seed=seed,
        start=start,
        step=step,
        cluster_of=cluster_of,
        now=now,
    )
    _finish_clusters(clusters, cluster_of, seed)
    for model in (Trace, Observation, Failure, Score, Task, Assignment, Annotation, Sample, ReviewAction):
        move_sequence(model)
    with connection.cursor() as cursor:
        # As autovacuum leaves a live table: statistics, and the visibility map index-only scans need.
        for model in (Trace, Observation, Failure, Score, Task, Assignment, Annotation, Sample, ReviewAction):
            cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
    print(f"rows in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return {"traces": traces, "failures": n_failures, **counts, "annotators": len(anns), "leads": len(leads)}


def _when(start: datetime, step: timedelta, index: int) -> datetime:
    return start + step * index


def _copy_traces(project, source, n, seed, start, step, now) -> None:  # type: ignore[no-untyped-def]
    table = Table(
        Trace,
        [
            "id",
            "project_id",
            "source_id",
            "external_id",
            "name",
            "user_id",
            "session_id",
            "tags",
            "environment",
            "timestamp",
            "input",
            "output",
            "metadata",
            "conversation",
            "placeholder_map",
            "pii_counts",
            "scrub_audit",
            "latency_ms",
            "total_cost",
            "release",
            "version",
        ],
        now=now,
    )

    def rows() -> Iterator[tuple]:
        for i in range(n):
            c = _content(seed, i)
            r = random.Random(i)
            persons = sum(m["content"].count("<PERSON_") for m in c.messages)
            yield (
                i + 1,
                project.pk,
                source.pk,
                f"tr-{i:07d}",
                r.choice(synth.NAMES),
                f"<PERSON_{r.randint(1, 3)}>",
                f"sess-{i // 3:07d}",
                dumps([c.topic]),
                r.choice(synth.ENVIRONMENTS),
                _when(start, step, i),
                dumps(c.question),
                dumps(c.answer),
                dumps({"channel": "web", "topic": c.topic}),
                dumps(c.messages),
                dumps({hashlib.md5(str(i).encode()).hexdigest(): "<PERSON_1>"}),  # noqa: S324
                dumps({"PERSON": persons}),
                dumps({"counts": {"PERSON": persons}, "config": "load"}),
                round(r.lognormvariate(7, 0.6), 1),
                round(r.uniform(0.0001, 0.01), 6),
                "2026.11",
                "1.4.0",
            )

    with _bar("traces", n) as bar:
        table.copy(rows(), progress=bar)
    obs = Table(
        Observation,
        [
            "id",
            "trace_id",
            "external_id",
            "type",
            "name",
            "model",
            "start_time",
            "end_time",
            "usage",
            "latency_ms",
            "total_cost",
        ],
        now=now,
    )

    def observations() -> Iterator[tuple]:
        for i in range(n):
            at = _when(start, step, i)
            yield (
                i + 1,
                i + 1,
                f"gen-{i:07d}",
                "GENERATION",
                "chat gpt-4o-mini",
                "gpt-4o-mini",
                at,
                at + timedelta(milliseconds=900),
                dumps({"input": 420, "output": 96, "total": 516}),
                900.0,
                0.0004,
            )

    with _bar("observations", n) as bar:
        obs.copy(observations(), progress=bar)


def _copy_failures(project, clusters, n, seed, now) -> list[int | None]:  # type: ignore[no-untyped-def]
    """Failure k is trace 4k (0-based); returns each failure's cluster id (None: noise)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(clusters))]
    ids = [c.pk for c in clusters]
    cluster_of: list[int | None] = [
        None if rng.random() < 0.15 else rng.choices(ids, weights)[0] for _ in range(n)
    ]
    table = Table(
        Failure,
        [
            "id",
            "project_id",
            "trace_id",
            "rules",
            "embed_text",
            "dedup_key",
            "cluster_id",
            "is_noise",
            "assigned_by",
        ],
        now=now,
    )

    def rows() -> Iterator[tuple]:
        for k in range(n):
            c = _content(seed, 4 * k)
            text = f"{c.question}\n{c.answer}"[:1000]
            yield (
                k + 1,
                project.pk,
                4 * k + 1,
                dumps(synth.RULES[k % len(synth.RULES)]),
                text,
                hashlib.sha256(text.encode()).hexdigest(),
                cluster_of[k],
                cluster_of[k] is None,
                "full",
            )

    with _bar("failures", n) as bar:
        table.copy(rows(), progress=bar)
    return cluster_of


def _copy_scores(n_failures: int, start: datetime, step: timedelta, now: datetime) -> None:
    table = Table(
        Score,
        ["id", "trace_id", "external_id", "name", "value", "data_type", "source", "comment", "timestamp"],
        now=now,
    )
    rows = (
        (
            k + 1,
            4 * k + 1,
            f"sc-{k:07d}",
            "user-feedback",
            0.0,
            "NUMERIC",
            "API",
            "",
            _when(start, step, 4 * k),
        )
        for k in range(n_failures)
    )
    with _bar("scores", n_failures) as bar:
        table.copy(rows, progress=bar)


def _label_templates(sop: Any) -> dict[str, dict[str, Any]]:
    schema = sop_schema(sop)
    errors = next(f for f in schema.fields if f.name == "error_types").choices
    base = {
        "task_type": "qa",
        "difficulty": "medium",
        "domain": "shipping",
        "must_refuse": False,
        "notes": "",
    }
    good = {**base, "verdict": "good", "sample_type": "golden", "error_types": [], "corrected_output": ""}
    bad = {**base, "verdict": "bad", "sample_type": "negative", "error_types": [errors[0]]}
    return {"good": clean_label(schema, good), "bad": clean_label(schema, bad)}


def _copy_labeling(**kw: Any) -> dict[str, int]:
    from bench.load.fill_labeling import copy_labeling

    return copy_labeling(**kw, content=_content, templates=_label_templates(kw["sop"]), when=_when)


def _finish_clusters(clusters: list[Cluster], cluster_of: list[int | None], seed: int) -> None:
    sizes: dict[int, list[int]] = {c.pk: [] for c in clusters}
    for k, cid in enumerate(cluster_of):
        if cid is not None:
            sizes[cid].append(k + 1)
    for c in clusters:
        members = sizes[c.pk]
        c.size = c.occurrences = len(members)
        c.exemplars = members[:: max(1, len(members) // 5)][:5]
        c.rule_counts = {"thumbs-down": len(members)}
    Cluster.objects.bulk_update(clusters, ["size", "occurrences", "exemplars", "rule_counts"])
