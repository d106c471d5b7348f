"""Load test: annotators, leads and a sync at once against gunicorn on PostgreSQL, 1M traces.

    .venv/bin/python -m bench.load.build            # once (minutes); skips when built
    .venv/bin/python -m bench.load.run              # 20 and 50 annotators, each without and with a sync
    .venv/bin/python -m bench.load.run --annotators 20 --seconds 60 --phases quiet

Per phase: ends leftover leases, reads the database into the OS page cache (as a running service's
would be), starts gunicorn (DEBUG off, the repository's gunicorn.conf.py, Redis as the cache), and
for a ``sync`` phase a Langfuse stand-in with ``--sync-traces`` fresh traces with fake PII and
``manage.py sync_langfuse`` reading them (Presidio scrubbing: CPU-heavy) while locust runs the
annotators + 2 leads (``bench/load/locustfile.py``) headless for ``--seconds``. Then it prints
requests/s, p50/p95/p99 per endpoint and the errors, beside the bare baseline: the same queue pop
as one ``SELECT ... FOR UPDATE SKIP LOCKED`` statement in psycopg. Also one cold computation of the
agreement dashboard, alone. Everything shares this machine's 2 cores: read the numbers so.
Results go to ``bench/out/load-<time>.json`` too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.load import procs
from bench.load.baseline import bare_pops, reset_leases
from bench.load.build import DEFAULT_URL, USERS_FILE

ROOT = procs.ROOT
OUT = ROOT / "bench" / "out"
SYNC_SOURCE = "load-standin"


def ensure_source(url: str, project: int, base_url: str) -> None:
    """The stand-in's trace source in the load project (its port changes per run)."""
    import psycopg

    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO flywheel_tracesource (project_id, name, kind, base_url, public_key, secret_key_env, "
            "environments, tags, window_hours, overlap_minutes, page_limit, created_at) "
            "VALUES (%s, %s, 'langfuse', %s, %s, %s, '[]', '[]', 6, 15, 500, now()) "
            "ON CONFLICT (name) DO UPDATE SET base_url = EXCLUDED.base_url, watermark = NULL",
            (project, SYNC_SOURCE, base_url, procs.STANDIN_KEYS[0], procs.SYNC_SECRET_ENV),
        )


def warm_cache(url: str) -> int:
    """Reads the load database's tables and indexes into the OS page cache (``pg_prewarm``, mode
    ``read``); returns the MB read. A service that has been running holds its working set in
    memory; straight after the build (or a restart) the first reads of a 3 GB database would go to
    the disk, and those are what the figures would show."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        row = conn.execute(
            "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't', 'm')"
        ).fetchone()
    return int(row[0] or 0) * 8192 // 2**20 if row else 0


def sync_counts(url: str) -> str:
    """What the phase's sync wrote: traces created, and how fast."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT r.read, r.created, EXTRACT(EPOCH FROM (COALESCE(r.finished_at, r.heartbeat_at, now()) "
            "- r.started_at)) FROM flywheel_syncrun r JOIN flywheel_tracesource s ON s.id = r.source_id "
            "WHERE s.name = %s ORDER BY r.id DESC LIMIT 1",
            (SYNC_SOURCE,),
        ).fetchone()
    if row is None:
        return "no sync run recorded"
    read, created, seconds = row[0], row[1], float(row[2] or 0)
    return f"{created} traces scrubbed and stored ({read} read), {created / seconds if seconds else 0:.1f}/s"


def unloaded(base: str, project: int, token: str, rounds: int) -> dict[str, float]:
    """One annotator alone: next-task then submit, back to back: the floor under any load."""
    timings: dict[str, list[float]] = {"next-task": [], "submit": []}
    with httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}, timeout=60) as client:
        for _ in range(rounds):
            t0 = time.perf_counter()
            lease = client.post(f"/api/projects/{project}/next-task/")
            timings["next-task"].append(time.perf_counter() - t0)
            lease.raise_for_status()
            body = lease.json()
            answer = '{"items": []}' if body["output_format"] == "json" else "It ships tomorrow."
            values = {"verdict": "bad", "sample_type": "negative", "corrected_output": answer}
            t0 = time.perf_counter()
            done = client.post(f"/api/assignments/{body['assignment']}/submit/", json={"values": values})
            timings["submit"].append(time.perf_counter() - t0)
            done.raise_for_status()
    return {f"{k} {q}": pct(v, q) for k, v in timings.items() for q in (50, 95)}


def cold_dashboard(base: str, project: int, token: str) -> float:
    t0 = time.perf_counter()
    got = httpx.get(
        f"{base}/api/projects/{project}/agreement?fresh=1",
        headers={"Authorization": f"Token {token}"},
        timeout=600,
    )
    got.raise_for_status()
    return time.perf_counter() - t0


def phase(args: argparse.Namespace, users: dict, annotators: int, with_sync: bool, work: Path) -> dict:
    name = f"{annotators} annotators, {'sync running' if with_sync else 'no sync'}" + (
        "" if args.dashboard_every > 0 else ", leads off the dashboard"
    )
    print(f"--- {name}", file=sys.stderr)
    expired = reset_leases(args.database_url, users["project"])
    print(f"database read into the page cache: {warm_cache(args.database_url)} MB", file=sys.stderr)
    env = procs.server_env(args.database_url)
    tag = f"{'s' if with_sync else 'q'}{annotators}-{int(time.time())}"
    server = procs.gunicorn(args.port, env, work / f"gunicorn-{tag}.log")
    stand, syncing, sync_seconds, sync_state = None, None, None, "off"
    try:
        if with_sync:
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
            data = procs.bundles_file(work / f"bundles-{tag}.jsonl", args.sync_traces, tag, start)
            stand = procs.standin(args.port + 1, data, work / f"standin-{tag}.log")
            ensure_source(args.database_url, users["project"], f"http://127.0.0.1:{args.port + 1}")
            t_sync = time.perf_counter()
            syncing = procs.sync(
                SYNC_SOURCE, start, start + timedelta(hours=1), env, work / f"sync-{tag}.log"
            )
        prefix = work / f"locust-{tag}"
        t0 = time.perf_counter()
        procs.locust(
            f"http://127.0.0.1:{args.port}",
            annotators + 2,
            args.seconds,
            prefix,
            USERS_FILE,
            work / f"locust-{tag}.log",
            args.dashboard_every,
        )
        wall = time.perf_counter() - t0
        if syncing is not None:
            if syncing.poll() is None:
                sync_state = f"still running after {wall:.0f}s (stopped; a sync resumes from its watermark)"
            else:
                sync_seconds = time.perf_counter() - t_sync
                sync_state = f"exit {syncing.returncode} after {sync_seconds:.0f}s"
            procs.stop(syncing)
            sync_state += "; " + sync_counts(args.database_url)
    finally:
        procs.stop(syncing)
        procs.stop(stand)
        procs.stop(server, group=True)
    rows = procs.locust_rows(prefix)
    failures = procs.failures_text(prefix)
    if failures.count("\n") > 1:
        print(failures, file=sys.stderr)
    return {
        "name": name,
        "expired_before": expired,
        "sync": sync_state,
        "rows": [asdict(r) for r in rows],
        "loadavg_after": round(os.getloadavg()[0], 1),  # other work on the machine shows here
    }


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def report(results: dict) -> str:
    lines = [
        f"load: {results['build']}",
        f"{procs.server_shape()}; PostgreSQL, locust, the sync and the stand-in share the same 2 cores",
        f"{'endpoint':24s} {'requests':>8s} {'req/s':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} "
        f"{'errors':>6s}",
    ]
    for ph in results["phases"]:
        sync = f"; sync: {ph['sync']}" if ph["sync"] != "off" else ""
        lines.append(f"== {ph['name']} (1-min load average at the end {ph['loadavg_after']}{sync})")
        for r in ph["rows"]:
            lines.append(
                f"{r['name'][:24]:24s} {r['requests']:8d} {r['rps']:7.1f} {r['p50']:7.0f} {r['p95']:7.0f} "
                f"{r['p99']:7.0f} {r['failures']:6d}"
            )
    bare = results.get("bare")
    if bare:
        lines.append(
            f"== bare SKIP LOCKED pop, psycopg, {bare['threads']} threads x {bare['rounds']}: "
            f"p50 {bare['p50']:.1f} / p95 {bare['p95']:.1f} / p99 {bare['p99']:.1f} ms"
        )
    if results.get("unloaded"):
        u = results["unloaded"]
        lines.append(
            f"== one annotator alone, back to back: next-task p50 {u['next-task 50']:.0f} / p95 "
            f"{u['next-task 95']:.0f} ms, submit p50 {u['submit 50']:.0f} / p95 {u['submit 95']:.0f} ms"
        )
    if results.get("cold_dashboard") is not None:
        lines.append(f"== agreement dashboard, cold (fresh=1), alone: {results['cold_dashboard']:.1f} s")
    lines.append("target: zero errors, next-task p95 < 50 ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--annotators", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--phases", nargs="+", choices=["quiet", "sync"], default=["quiet", "sync"])
    parser.add_argument("--seconds", type=int, default=120, help="locust run time per phase")
    parser.add_argument("--sync-traces", type=int, default=3000, help="traces the stand-in serves per sync")
    parser.add_argument("--port", type=int, default=8800, help="gunicorn; the stand-in takes the next one")
    parser.add_argument(
        "--dashboard-every", type=float, default=60, help="seconds between a lead's dashboard looks; 0: never"
    )
    parser.add_argument("--bare-rounds", type=int, default=50)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold dashboard measurement")
    args = parser.parse_args(argv)
    built = subprocess.run(
        [sys.executable, "-m", "bench.load.build", "--database-url", args.database_url], cwd=ROOT
    )
    if built.returncode:
        return built.returncode
    users = json.loads(USERS_FILE.read_text())
    if max(args.annotators) > len(users["annotators"]):
        parser.error(f"the database has {len(users['annotators'])} annotators")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    work = OUT / f"load-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "build": users["build"],
        "started": stamp,
        "phases": [],
        "dashboard_every": args.dashboard_every,
    }
    if not args.no_cold:
        server = procs.gunicorn(args.port, procs.server_env(args.database_url), work / "gunicorn-cold.log")
        try:
            base = f"http://127.0.0.1:{args.port}"
            lead_token = next(iter(users["leads"].values()))
            results["cold_dashboard"] = cold_dashboard(base, users["project"], lead_token)
            last = sorted(users["annotators"])[-1]  # locust starts with the first ones
            results["unloaded"] = unloaded(base, users["project"], users["annotators"][last], 40)
        finally:
            procs.stop(server, group=True)
    for n in args.annotators:
        for kind in args.phases:
            results["phases"].append(phase(args, users, n, kind == "sync", work))
    reset_leases(args.database_url, users["project"])
    ids = _annotator_ids(args.database_url, sorted(users["annotators"])[:20])
    bare = bare_pops(args.database_url, users["project"], ids, args.bare_rounds)
    reset_leases(args.database_url, users["project"])
    results["bare"] = {
        "threads": len(ids),
        "rounds": args.bare_rounds,
        "p50": pct(bare, 50),
        "p95": pct(bare, 95),
        "p99": pct(bare, 99),
    }
    text = report(results)
    (work / "results.json").write_text(json.dumps(results, indent=1))
    (work / "results.txt").write_text(text + "\n")
    print(text)
    print(f"(logs and CSVs: {work})", file=sys.stderr)
    return 0


def _annotator_ids(url: str, names: list[str]) -> list[int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id FROM auth_user WHERE username = ANY(%s)", (names,)).fetchall()
    return [r[0] for r in rows]


if __name__ == "__main__":
    raise SystemExit(main())
