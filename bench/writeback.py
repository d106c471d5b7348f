"""Write-back throughput: scores_write_back vs the bare SDK sending the same scores.

    .venv/bin/python bench/writeback.py [--traces 2000]

Ours: the service end to end on a fresh SQLite database: read the labels and clusters in
chunks, build the bodies, diff against the ledger, send batches of 100 through the SDK's
generated client, record the ledger. Then the same run again, when nothing changed (the
nightly's usual case: no request at all). Baselines, against a fresh stand-in each:

* bare ``LangfuseAPI.scores.create`` with the same bodies, 100 per request (no database,
  no ledger: the floor for this wire format);
* ``Langfuse().create_score`` + ``flush()``, the SDK's high-level path (its background queue
  sends batches of 15 and cannot say which scores were taken).

Everything talks HTTP to the in-process Langfuse stand-in on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANSWER = "Refunds take 5-7 business days; I opened ticket <ID_1> for <PERSON_1>. " * 4


def setup_django(workdir: Path) -> None:
    os.environ.update(
        DEBUG="1", DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}", FLYWHEEL_DATA_DIR=str(workdir)
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(n: int, base_url: str) -> object:
    from django.utils import timezone

    from annotate.models import Sample, Task
    from annotate.services.sops import sop_bootstrap
    from flywheel.models import Cluster, Failure, Observation, Project, Trace, TraceSource

    os.environ["BENCH_LANGFUSE_SECRET"] = "sk-lf-standin"  # noqa: S105 - the stand-in's fixed key
    project = Project.objects.create(name="bench")
    source = TraceSource.objects.create(
        project=project,
        name="bench-langfuse",
        base_url=base_url,
        public_key="pk-lf-standin",
        secret_key_env="BENCH_LANGFUSE_SECRET",  # noqa: S106 - the name of a variable
    )
    sop = sop_bootstrap(project=project, user=None)
    clusters = [
        Cluster.objects.create(project=project, number=i + 1, name=f"topic {i} · broken") for i in range(20)
    ]
    traces = Trace.objects.bulk_create(
        Trace(project=project, source=source, external_id=f"t-{i:06d}", timestamp=T0 + timedelta(seconds=i))
        for i in range(n)
    )
    Observation.objects.bulk_create(
        Observation(trace=t, external_id=f"g-{i:06d}", type="GENERATION") for i, t in enumerate(traces)
    )
    failures = Failure.objects.bulk_create(
        Failure(project=project, trace=t, rules=["thumbs-down"], cluster=clusters[i % 20], assigned_by="full")
        for i, t in enumerate(traces)
    )
    tasks = Task.objects.bulk_create(
        Task(project=project, trace=t, failure=f, cluster=f.cluster, model_answer="Sent.", review="final")
        for t, f in zip(traces, failures, strict=True)
    )
    values = {
        "verdict": "bad",
        "error_types": ["wrong_policy", "missing_step"],
        "must_refuse": False,
        "sample_type": "negative",
        "task_type": "qa",
    }
    now = timezone.now()
    Sample.objects.bulk_create(
        Sample(
            project=project,
            task=task,
            trace=task.trace,
            status="final",
            decision="consensus",
            item_key=f"bench-langfuse:t-{i:06d}",
            group_key=f"trace:bench-langfuse:t-{i:06d}",
            prompt=[{"role": "user", "content": "Where is my refund?"}],
            answer=ANSWER,
            rejected_answer="Sent.",
            values=values,
            lineage={"observation_id": f"g-{i:06d}", "cluster": f"C{i % 20 + 1}", "sop_version": 1},
            sop=sop,
            annotators=["ann1", "ann2"],
            content_hash=f"{i:064d}",
            decided_at=now,
        )
        for i, task in enumerate(tasks)
    )
    return project


def ours(project: object, lf: object) -> tuple[float, float, int, list[dict]]:
    """Two runs of the service; returns their times, the scores sent and the bodies the stand-in got."""
    from flywheel.services.writeback import scores_write_back

    start = time.perf_counter()
    first = scores_write_back(project=project)  # type: ignore[arg-type]
    cold = time.perf_counter() - start
    start = time.perf_counter()
    second = scores_write_back(project=project)  # type: ignore[arg-type]
    warm = time.perf_counter() - start
    assert first.failed == 0 and second.sent == 0, (first.summary(), second.summary())
    assert second.requests == 0
    bodies = [b for r in lf.requests if r.method == "POST" for b in r.json()]  # type: ignore[attr-defined]
    return cold, warm, first.sent, bodies


def bare_api(payloads: list[dict]) -> float:
    from langfuse.api import LangfuseAPI
    from langfuse.api.scores.types.create_score_request import CreateScoreRequest

    from flywheel.standin import LangfuseStandin

    fields = {"traceId": "trace_id", "observationId": "observation_id", "dataType": "data_type"}
    models = [CreateScoreRequest(**{fields.get(k, k): v for k, v in b.items()}) for b in payloads]
    with LangfuseStandin() as lf:
        api = LangfuseAPI(base_url=lf.base_url, username=lf.public_key, password=lf.secret_key)
        start = time.perf_counter()
        for i in range(0, len(models), 100):
            api.scores.create(request=models[i : i + 100])
        elapsed = time.perf_counter() - start
        assert len(lf.written_scores) == len(payloads)
    return elapsed


def bare_create_score(payloads: list[dict]) -> float:
    from langfuse import Langfuse

    from flywheel.standin import LangfuseStandin

    with LangfuseStandin() as lf:
        client = Langfuse(public_key=lf.public_key, secret_key=lf.secret_key, base_url=lf.base_url)
        start = time.perf_counter()
        for b in payloads:
            client.create_score(
                name=b["name"],
                value=b["value"],
                trace_id=b["traceId"],
                observation_id=b.get("observationId"),
                score_id=b["id"],
                data_type=b["dataType"],
                comment=b["comment"],
                metadata=b["metadata"],
                timestamp=datetime.fromisoformat(b["timestamp"]),
            )
        client.flush()
        elapsed = time.perf_counter() - start
        taken = len(lf.written_scores)
        client.shutdown()
    if taken != len(payloads):
        print(f"  (create_score: the stand-in holds {taken} of {len(payloads)} scores)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        from flywheel.standin import LangfuseStandin

        with LangfuseStandin() as lf:
            project = seed(args.traces, lf.base_url)
            cold, warm, sent, payloads = ours(project, lf)
    api = bare_api(payloads)
    queued = bare_create_score(payloads)
    n = len(payloads)
    print(f"{args.traces} traces, {sent} scores (7 per trace: label, 2 error types, correction, cluster)")
    rows = [
        ("scores_write_back, first run", cold, f"{sent / cold:6.0f} scores/s"),
        ("scores_write_back, nothing changed", warm, f"{args.traces / warm:6.0f} traces/s, 0 requests"),
        ("bare LangfuseAPI.scores.create", api, f"{n / api:6.0f} scores/s (100 per request)"),
        ("bare Langfuse().create_score", queued, f"{n / queued:6.0f} scores/s (+ flush)"),
    ]
    for label, seconds, rate in rows:
        print(f"  {label:<36}{seconds:7.2f} s  {rate}")


if __name__ == "__main__":
    main()
