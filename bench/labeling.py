"""Labeling latency: next-task + submit through the API, 20 concurrent annotators, PostgreSQL.

    .venv/bin/python bench/labeling.py [--traces 100000] [--annotators 20] [--rounds 25]

Loads --traces traces (each flagged, each a task) into a fresh database `flywheel_bench` on
127.0.0.1:5432, serves the app with gunicorn, and runs one HTTP client thread per annotator
(token auth): POST next-task, POST submit. Twice: with a think time between calls (people read
before they submit) and without (saturation: every annotator hammering at once). Beside it, the
bare baseline: the same queue pop as one `SELECT ... FOR UPDATE SKIP LOCKED` + INSERT in
psycopg, no Django, no HTTP.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "flywheel_bench"
BASE = "postgres://postgres@127.0.0.1:5432"


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(f"{BASE}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")


def load(n_traces: int, n_annotators: int) -> tuple[int, list]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotate.models import LabelingPolicy, Membership, Task
    from annotate.services.sops import sop_bootstrap
    from flywheel.models import Failure, Project, Trace, TraceSource

    call_command("migrate", verbosity=0)
    project = Project.objects.create(name="bench")
    source = TraceSource.objects.create(project=project, name="bench", kind="file")
    lead = get_user_model().objects.create(username="lead", is_superuser=True)
    sop_bootstrap(project=project, user=lead)
    LabelingPolicy.objects.create(project=project, gold_rate=0.0)
    conversation = [
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "Shipped."},
    ]
    start, chunk = time.perf_counter(), 5000
    for offset in range(0, n_traces, chunk):
        size = min(chunk, n_traces - offset)
        traces = Trace.objects.bulk_create(
            Trace(project=project, source=source, external_id=f"t{offset + i}", conversation=conversation)
            for i in range(size)
        )
        failures = Failure.objects.bulk_create(
            Failure(project=project, trace=t, rules=["thumbs-down"]) for t in traces
        )
        Task.objects.bulk_create(
            Task(project=project, trace=f.trace, failure=f, model_answer="Shipped.", priority=float(i % 97))
            for i, f in enumerate(failures)
        )
    print(f"loaded {n_traces} traces/failures/tasks in {time.perf_counter() - start:.0f}s")
    users = [get_user_model().objects.create(username=f"ann{i}") for i in range(n_annotators)]
    Membership.objects.bulk_create(Membership(user=u, project=project, role="annotator") for u in users)
    return project.pk, users


def serve(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "flywheel.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not come up")


def run_api(
    base: str, project_id: int, tokens: list[str], rounds: int, think: float
) -> dict[str, list[float]]:
    """Each annotator: next-task, (think), submit, (think) -- over real HTTP, token auth."""
    timings: dict[str, list[float]] = {"next-task": [], "submit": []}
    lock = threading.Lock()
    values = {"verdict": "bad", "sample_type": "negative", "corrected_output": "It ships tomorrow."}

    def annotator(token: str) -> None:
        mine: dict[str, list[float]] = {"next-task": [], "submit": []}
        with httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}, timeout=30) as client:
            for _ in range(rounds):
                t0 = time.perf_counter()
                response = client.post(f"/api/projects/{project_id}/next-task/")
                mine["next-task"].append(time.perf_counter() - t0)
                assert response.status_code == 200, response.status_code
                time.sleep(think)
                t0 = time.perf_counter()
                done = client.post(
                    f"/api/assignments/{response.json()['assignment']}/submit/",
                    json={"values": values, "seconds_spent": 5},
                )
                mine["submit"].append(time.perf_counter() - t0)
                assert done.status_code == 201, done.text
                time.sleep(think)
        with lock:
            for key, got in mine.items():
                timings[key] += got

    threads = [threading.Thread(target=annotator, args=(t,)) for t in tokens]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    timings["wall"] = [time.perf_counter() - start]
    return timings


def run_bare(project_id: int, users: list, rounds: int) -> list[float]:
    """The bare queue pop: lock one free task row, insert the lease, commit."""
    import psycopg

    timings: list[float] = []
    lock = threading.Lock()
    sql = """
        WITH picked AS (
          SELECT t.id FROM annotate_task t
          WHERE t.project_id = %s AND t.status = 'open' AND t.kind = 'normal'
            AND NOT EXISTS (SELECT 1 FROM annotate_assignment a WHERE a.task_id = t.id)
          ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE SKIP LOCKED)
        INSERT INTO annotate_assignment (task_id, annotator_id, status, sop_id, leased_at, lease_expires_at,
                                         skip_reason)
        SELECT id, %s, 'leased', (SELECT id FROM annotate_sop LIMIT 1), now(), now() + interval '20 min', ''
        FROM picked RETURNING id"""

    def worker(user) -> None:
        mine = []
        with psycopg.connect(f"{BASE}/{DB}") as conn:
            for _ in range(rounds):
                t0 = time.perf_counter()
                with conn.transaction():
                    conn.execute(sql, (project_id, user.pk)).fetchone()
                mine.append(time.perf_counter() - t0)
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=worker, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=1.0, help="seconds an annotator reads between calls")
    args = parser.parse_args()
    fresh_database()
    os.environ.update(DATABASE_URL=f"{BASE}/{DB}", SECRET_KEY="bench-" + "x" * 40, SECURE_SSL_REDIRECT="0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel.settings")
    import django

    django.setup()

    from rest_framework.authtoken.models import Token

    project_id, users = load(args.traces, args.annotators)
    tokens = [Token.objects.create(user=u).key for u in users]
    port = 8765
    server = serve(port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        busy = run_api(base, project_id, tokens, args.rounds, think=0.0)
        paced = run_api(base, project_id, tokens, args.rounds, think=args.think)
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare = run_bare(project_id, users, args.rounds)
    print(
        f"{args.annotators} annotators x {args.rounds} rounds, {args.traces} tasks, PostgreSQL, "
        f"gunicorn x{args.workers} on this 2-core machine (clients share it)"
    )
    rows = (
        (f"next-task, {args.think:.1f}s think time", paced["next-task"]),
        (f"submit,    {args.think:.1f}s think time", paced["submit"]),
        ("next-task, no think (saturation)", busy["next-task"]),
        ("submit,    no think (saturation)", busy["submit"]),
        ("bare SKIP LOCKED pop (psycopg)", bare),
    )
    for name, values in rows:
        p50, p95, p99 = (pct(values, q) for q in (50, 95, 99))
        print(f"{name:36s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")
    total = len(busy["next-task"])
    print(f"saturation throughput: {2 * total / busy['wall'][0]:.0f} API requests/s")
    print("target: next-task p95 < 50 ms")


if __name__ == "__main__":
    main()
