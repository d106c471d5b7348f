"""The processes of a load run: gunicorn, the Langfuse stand-in with fresh traces, a sync, locust.

Each is a child process on 127.0.0.1 that the runner stops itself (terminate, then kill).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
# The service's own gunicorn.conf.py, as deployed (sync workers, 2 x cores + 1, preloaded);
# LOAD_GUNICORN="--worker-class gthread --threads 4 --workers 3" (say) tries other settings.
GUNICORN_CONF = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
EXTRA = shlex.split(os.environ.get("LOAD_GUNICORN", ""))


def server_shape() -> str:
    """What the load run's gunicorn is, for the report."""
    conf = GUNICORN_CONF
    shape = f"gunicorn {conf['workers']} {conf['worker_class']} workers"
    if conf["worker_class"] == "gthread":
        shape += f" x {conf['threads']} threads"
    return shape + (f", preloaded; with {' '.join(EXTRA)}" if EXTRA else ", preloaded")


# Annotators arrive over seconds, not in one instant: locust starts this many users a second (the
# run is longer by the ramp; its requests and errors count too).
SPAWN_RATE = 4
STANDIN_KEYS = ("pk-lf-standin", "sk-lf-standin")
SYNC_SECRET_ENV = "LOAD_LANGFUSE_SECRET"  # noqa: S105 - the name of a variable, not a secret
QUESTIONS = (
    "Hi, I'm {name}, my order to {city} has not arrived. Reach me at {email} or {phone}.",
    "This is {name}. Please cancel the subscription billed to card 4111 1111 1111 1111.",
    "Can you send the invoice to {email}? The account is under {name}, {city}.",
    "My neighbour {name} ordered for me, what's the status? Call {phone}.",
)
NAMES = ("Maria Keller", "John Smith", "Aiko Tanaka", "Luis Romero", "Fatima Haddad", "Peter Novak")
CITIES = ("Berlin", "Chicago", "Osaka", "Madrid", "Lyon", "Warsaw")


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("LOAD_SECRET_KEY", "load-run-" + "k" * 48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        # The shared cache as docs/operations.md deploys it (LOAD_REDIS_URL= empty: the database table).
        "REDIS_URL": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/3"),
        SYNC_SECRET_ENV: STANDIN_KEYS[1],
    }


def gunicorn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [
        PY,
        "-m",
        "gunicorn",
        "flywheel.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        *EXTRA,
        "--log-level",
        "warning",
    ]
    wait_port_free(port)
    # Its own process group: stop() can end the workers too, should the master not.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def wait_port_free(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"port {port} is still in use after {seconds:.0f}s; pick another with --port")


def wait_http(url: str, proc: subprocess.Popen, tries: int = 150) -> None:
    for _ in range(tries):
        if proc.poll() is not None:
            raise SystemExit(f"the process for {url} exited with {proc.returncode}; see its log")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"nothing answered at {url}")


def bundles_file(path: Path, n: int, tag: str, start: datetime) -> Path:
    """``n`` chat traces with fake PII (names, e-mails, phones, a card) for the sync to scrub."""
    sys.path.insert(0, str(ROOT))
    from flywheel.standin.synthetic import chat_bundle

    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            name, city = NAMES[i % len(NAMES)], CITIES[i % len(CITIES)]
            first = name.split()[0].lower()
            question = QUESTIONS[i % len(QUESTIONS)].format(
                name=name, city=city, email=f"{first}.{i}@example.com", phone=f"+1 415 555 {i % 10000:04d}"
            )
            bundle = chat_bundle(
                f"{tag}-{i:06d}",
                start + timedelta(seconds=i),
                question=question,
                answer=f"Thanks {name.split()[0]}, I have checked order #{100000 + i}: it ships today.",
                user_id=f"{first}.{i}@example.com",
                session_id=f"s-{tag}-{i // 4}",
            )
            out.write(json.dumps(bundle) + "\n")
    return path


def standin(port: int, data: Path, log: Path) -> subprocess.Popen:
    cmd = [PY, "-m", "flywheel.standin", "--port", str(port), "--data", str(data)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/api/public/health", proc)
    return proc


def sync(source: str, since: datetime, until: datetime, env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [
        PY,
        "manage.py",
        "sync_langfuse",
        "--source",
        source,
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        "--no-progress",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def locust(
    host: str, users: int, seconds: int, prefix: Path, users_file: Path, log: Path, dashboard_every: float
) -> None:
    cmd = [
        PY,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench/load/locustfile.py"),
        "--headless",
        "--host",
        host,
        "-u",
        str(users),
        "-r",
        str(SPAWN_RATE),
        "--run-time",
        f"{seconds + math.ceil(users / SPAWN_RATE)}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    env = {**os.environ, "LOAD_USERS": str(users_file), "LOAD_DASHBOARD_EVERY": str(dashboard_every)}
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, check=False)
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust wrote no statistics; see {log}")


def stop(proc: subprocess.Popen | None, *, group: bool = False) -> None:
    """SIGTERM, then after 30 s SIGKILL. ``group``: the process leads its own group (gunicorn),
    and what is left of the group (workers a killed master left behind) is killed too."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


def locust_rows(prefix: Path) -> list[Row]:
    with Path(f"{prefix}_stats.csv").open(newline="") as f:
        return [
            Row(
                r["Name"],
                int(r["Request Count"]),
                int(r["Failure Count"]),
                float(r["Requests/s"]),
                _ms(r["50%"]),
                _ms(r["95%"]),
                _ms(r["99%"]),
            )
            for r in csv.DictReader(f)
        ]


def _ms(text: str) -> float:
    return float(text) if text and text != "N/A" else 0.0


def failures_text(prefix: Path) -> str:
    path = Path(f"{prefix}_failures.csv")
    return path.read_text() if path.exists() else ""
