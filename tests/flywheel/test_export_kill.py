"""An export killed with SIGKILL while it writes leaves no release; the next run cleans up and publishes.

Black box, real processes: a SQLite database and data directory of its own, the real Presidio
scrubber and MiniLM embedder, ``manage.py export_release`` killed as soon as its files exist.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands import manage
from training.release import release_load

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SEED = (
    "from tests.flywheel.export.seed import export_project, seed_samples; "
    "project, _ = export_project('acme', min_samples=100); seed_samples(project, 300, scrub=True)"
)


def releases(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from flywheel_release").fetchone()[0]


def test_a_killed_export_leaves_no_release_and_the_next_run_cleans_up_and_publishes(tmp_path):
    db = tmp_path / "flywheel.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "FLYWHEEL_DATA_DIR": str(tmp_path)}
    assert manage(env, "migrate", "-v0").returncode == 0
    seeded = manage(env, "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr
    parent = tmp_path / "releases"
    victim = subprocess.Popen(
        [sys.executable, "manage.py", "export_release", "--project", "acme"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    writing = []
    while time.monotonic() < deadline and victim.poll() is None:
        writing = list(parent.glob(".tmp-acme-v1-*/sft/train.jsonl")) if parent.exists() else []
        if writing:
            break
        time.sleep(0.05)
    assert writing, "the export should reach its write pass before it is killed"
    time.sleep(0.5)  # into the PII re-scan and the first rows
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    assert releases(db) == 0
    assert not (parent / "acme-v1").exists()
    stale = list(parent.glob(".tmp-acme-v1-*"))
    assert len(stale) == 1  # invisible to readers: a dot directory that is never a release

    again = manage(env, "export_release", "--project", "acme", "--no-progress")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("published acme-v1")
    assert not stale[0].exists() and releases(db) == 1
    assert sorted(p.name for p in parent.iterdir()) == [".acme.lock", "acme-v1"]
    for method in ("sft", "dpo"):
        release_load(parent / "acme-v1", method=method)
