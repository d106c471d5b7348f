"""A sync killed with SIGKILL mid-run loses nothing and duplicates nothing: black box, real processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.demo_traces import generate
from flywheel.standin import LangfuseStandin
from tests.commands import manage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
N = 120


def scalar(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def test_a_killed_sync_resumes_and_ends_with_every_trace_exactly_once(tmp_path):
    db = tmp_path / "flywheel.sqlite3"
    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundles(generate(N))
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db}",
            "FLYWHEEL_DATA_DIR": str(tmp_path),
            "LF_SECRET": lf.secret_key,
            "INGEST_BATCH_SIZE": "10",
        }
        assert manage(env, "migrate", "-v0").returncode == 0
        added = manage(
            env,
            "langfuse_source",
            "add",
            "--project",
            "p",
            "--create-project",
            "--name",
            "lf",
            "--base-url",
            lf.base_url,
            "--public-key",
            lf.public_key,
            "--secret-key-env",
            "LF_SECRET",
        )
        assert added.returncode == 0, added.stderr
        assert (
            manage(
                env,
                "shell",
                "-c",
                "from flywheel.models import TraceSource as S; "
                "S.objects.filter(name='lf').update(window_hours=0.25, page_limit=20)",
            ).returncode
            == 0
        )
        # Slow every page down so the kill lands in the middle of the run.
        lf.faults.push("/api/public/v2/observations", "delay", count=10_000, seconds=0.4)
        args = ("sync_langfuse", "--source", "lf", "--since", "2026-11-01", "--until", "2026-11-02")
        victim = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if db.exists() and scalar(db, "select count(*) from flywheel_trace") >= 20:
                break
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        stored_at_kill = scalar(db, "select count(*) from flywheel_trace")
        assert 0 < stored_at_kill < N, "the kill should land mid-run"
        assert (
            scalar(db, "select status from flywheel_syncrun") == "running"
        )  # SIGKILL: no chance to clean up

        lf.faults.clear()
        resumed = manage(env, *args)
        assert resumed.returncode == 0, resumed.stderr
        assert "succeeded" in resumed.stdout
    assert scalar(db, "select count(*) from flywheel_trace") == N
    assert scalar(db, "select count(*) from flywheel_observation") == 2 * N
    assert scalar(db, "select count(distinct external_id) from flywheel_trace") == N
    assert scalar(db, "select count(*) from flywheel_syncrun where status = 'failed'") == 1  # the killed one
