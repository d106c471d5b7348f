"""Faults at the boundaries: what the user sees, and that nothing is lost or duplicated.

Langfuse turning slow or answering garbage in the middle of a sync; the PostgreSQL backend of a
sync or of an annotator's submit terminated (the client-side view of a database restart; the
shared server itself is never restarted); the disk filling up while an export is written. Down,
rate limited and a training host that never answers are covered elsewhere
(``tests/flywheel/ingest/test_sync_langfuse.py``, ``tests/test_nightly_e2e.py``,
``tests/flywheel/test_training_runs.py``).
"""

from __future__ import annotations

import builtins
import errno
import io
import itertools
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from annotate.models import Annotation, Assignment, Task
from fixtures.demo_traces import generate
from flywheel.api.exceptions import DATABASE_UNAVAILABLE, DATABASE_UNAVAILABLE_HINT
from flywheel.cluster.embedding import HashingEmbedder
from flywheel.management.base import DATABASE_FAILED
from flywheel.models import Observation, Release, ReleaseItem, Score, SplitAssignment, SyncRun, Trace
from flywheel.pii import FakeScrubber
from flywheel.services.export import DISK_FULL, DISK_FULL_HINT, DiskFull, release_dry_run, release_publish
from flywheel.standin import LangfuseStandin
from tests.annotate.conftest import GOOD, leased_project
from tests.commands import manage
from tests.commands import run_command as command
from tests.factories import standin_source
from tests.flywheel.export.seed import export_project, seed_samples
from training.release import release_load

ROOT = Path(__file__).resolve().parents[1]
V2 = "/api/public/v2/observations"
SECRET_ENV = "TEST_LANGFUSE_SECRET"
DAY = datetime(2026, 11, 1, tzinfo=UTC)
SINCE, UNTIL = "2026-11-01", "2026-11-01T01:00"
N_DEMO = 40  # 40 traces, 37 s apart, in 6-minute windows of pages of 10 observations


def every_trace_once(n: int) -> None:
    assert Trace.objects.count() == n
    assert Trace.objects.values("external_id").distinct().count() == n
    assert Observation.objects.count() == 2 * n
    assert Observation.objects.values("trace_id", "external_id").distinct().count() == 2 * n


# -- Langfuse slow, or answering garbage, in the middle of a sync --------------------------
@pytest.fixture
def standin():
    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundles(generate(N_DEMO, start=DAY))
        yield lf


@pytest.fixture
def lf_source(standin, monkeypatch, settings):
    settings.LANGFUSE_TIMEOUT = 0.3
    settings.LANGFUSE_MAX_ATTEMPTS = 2
    settings.LANGFUSE_BACKOFF_BASE = 0.01
    monkeypatch.setenv(SECRET_ENV, standin.secret_key)
    return standin_source(
        standin,
        SECRET_ENV,
        window_hours=0.1,
        page_limit=10,
        overlap_minutes=5,
    )


def turns_bad_after(
    standin: LangfuseStandin, good: int, kind: str, count: int = 10_000, **options: Any
) -> None:
    """The first ``good`` observation requests are answered as usual; the next ``count`` get ``kind``.

    The switch is made by the server while it answers the last good request, so it lands at the
    same point of the sync every time.
    """
    served = itertools.count(1)

    def serve(payload: Any) -> Any:
        if next(served) == good:
            standin.faults.push(V2, kind, count=count, **options)
        return payload

    standin.faults.push(V2, "mutate", count=good, mutate=serve)


def not_a_page(payload: dict[str, Any]) -> dict[str, Any]:
    return {"result": {"rows": payload["data"]}, "ok": True}  # a 200 with JSON of the wrong shape


GARBLED = {
    # kind: (fault options, what stderr says after "error: Langfuse at HOST ")
    "slow": (
        {"kind": "delay", "seconds": 5.0},
        "did not answer GET /api/public/v2/observations after 2 attempts (last: timed out after 0.3 s).",
    ),
    "html": (
        {"kind": "garbage"},
        "answered GET /api/public/v2/observations with a body that is not JSON (HTTP 200), 2 times in a row.",
    ),
    "truncated": (
        {"kind": "truncated"},
        "answered GET /api/public/v2/observations with a body that is not JSON (HTTP 200), 2 times in a row.",
    ),
    "wrong_shape": (
        {"kind": "mutate", "mutate": not_a_page},
        "answered GET /api/public/v2/observations with JSON that is not a page.",
    ),
}


@pytest.mark.slow
@pytest.mark.also_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("fault", sorted(GARBLED))
def test_langfuse_turning_slow_or_garbled_mid_sync_exits_69_naming_it_and_the_next_run_stores_each_trace_once(
    standin, lf_source, fault
):
    options, said = GARBLED[fault]
    turns_bad_after(standin, 4, **options)
    code, _, err = command("sync_langfuse", "--source", lf_source.name, "--since", SINCE, "--until", UNTIL)

    host = standin.base_url.removeprefix("http://")
    assert code == 69
    lines = err.splitlines()
    assert lines[0] == f"error: Langfuse at {host} {said}"
    assert lines[1].startswith("hint: Check that ")
    assert "Traceback" not in err and "garbage" not in err and "rows" not in err
    failed = SyncRun.objects.get()
    assert failed.status == SyncRun.Status.FAILED and failed.error.startswith(f"Langfuse at {host} ")
    kept = Trace.objects.count()
    assert 0 < kept < N_DEMO  # the batches committed before the fault stay
    lf_source.refresh_from_db()
    assert lf_source.watermark is None or lf_source.watermark < DAY + timedelta(hours=1)

    standin.faults.clear()  # Langfuse is well again; the next run resumes from the watermark
    code, out, err = command("sync_langfuse", "--source", lf_source.name, "--until", UNTIL)
    assert code == 0, err
    assert " succeeded in " in out
    every_trace_once(N_DEMO)
    assert Score.objects.count() == sum(len(b["trace"]["scores"]) for b in generate(N_DEMO, start=DAY))


@pytest.mark.slow
@pytest.mark.also_postgres
@pytest.mark.django_db
def test_one_answer_slower_than_the_timeout_mid_sync_is_retried_and_the_sync_stores_each_trace_once(
    standin, lf_source
):
    turns_bad_after(standin, 4, "delay", count=1, seconds=5.0)
    code, out, err = command("sync_langfuse", "--source", lf_source.name, "--since", SINCE, "--until", UNTIL)
    assert code == 0, err
    assert " succeeded in " in out
    assert standin.faults.pending() == 0  # the slow answer was really asked for, and waited out
    every_trace_once(N_DEMO)


# -- PostgreSQL: the backend of a sync, or of a submit, terminated -------------------------
def victim_url(application_name: str) -> str:
    """The test database, as a URL another process can use, under a name to find its backend by."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        f"?application_name={application_name}"
    )


def terminate_backends(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
            [application_name],
        )
        return int(cursor.fetchone()[0])


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_restart_mid_sync_exits_75_saying_so_and_the_next_run_stores_every_trace_exactly_once(
    tmp_path,
):
    n = 80
    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundles(generate(n, start=DAY))
        standin_source(
            lf,
            SECRET_ENV,
            name="lf",
            window_hours=0.25,
            page_limit=20,
        )
        env = {
            **os.environ,
            "DATABASE_URL": victim_url("fault-sync"),
            "FLYWHEEL_DATA_DIR": str(tmp_path),
            SECRET_ENV: lf.secret_key,
            "INGEST_BATCH_SIZE": "10",
        }
        args = ("sync_langfuse", "--source", "lf", "--since", "2026-11-01", "--until", "2026-11-02")
        lf.faults.push(V2, "delay", count=10_000, seconds=0.3)  # slow pages: the cut lands mid-run
        victim = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: Trace.objects.count() >= 10 or victim.poll() is not None, "the first batches")
            assert terminate_backends("fault-sync") == 1
            _, err = victim.communicate(timeout=120)
        finally:
            if victim.poll() is None:
                victim.kill()
        assert victim.returncode == 75
        assert err.splitlines()[-1] in {
            DATABASE_FAILED.format(kind=kind) for kind in ("OperationalError", "InterfaceError")
        }
        assert "Traceback" not in err
        stored = Trace.objects.count()
        assert 10 <= stored < n
        # Cut inside a batch's transaction, Django drops the connection and the run records its failure
        # on a new one; cut between transactions, its last words are lost and the next run releases it.
        cut = SyncRun.objects.get()
        assert (cut.status, cut.error) in {
            (SyncRun.Status.FAILED, "unexpected OperationalError; committed batches are kept"),
            (SyncRun.Status.RUNNING, ""),
        }

        lf.faults.clear()
        resumed = manage(env, *args)
        assert resumed.returncode == 0, resumed.stderr
        assert " succeeded in " in resumed.stdout
    every_trace_once(n)
    assert sorted(SyncRun.objects.values_list("status", flat=True)) == ["failed", "succeeded"]
    cut.refresh_from_db()
    assert cut.status == SyncRun.Status.FAILED  # never left looking alive


@pytest.fixture
def leased(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _, _, annotator, lease = leased_project()
    return annotator, lease


def first_waiter_on(cursor: Any, table: str) -> int:
    """The pid of the backend waiting for a lock on ``table`` (pg_locks is live, unlike pg_stat_activity
    inside a transaction)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cursor.execute("SELECT pid FROM pg_locks WHERE relation = %s::regclass AND NOT granted", [table])
        row = cursor.fetchone()
        if row:
            return int(row[0])
        time.sleep(0.02)
    raise AssertionError(f"no request came to write {table}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_restart_during_a_submit_answers_503_saves_nothing_keeps_the_lease_and_resubmit_saves_once(
    live_server, leased
):
    annotator, lease = leased
    url = f"{live_server.url}/api/assignments/{lease.pk}/submit/"
    auth = {"Authorization": f"Token {Token.objects.create(user=annotator).key}"}
    table = Annotation._meta.db_table
    with ThreadPoolExecutor(1) as pool:
        # The submit takes its row locks, then waits to insert the annotation: its backend is cut
        # there, in the middle of its transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            answer = pool.submit(httpx.post, url, json={"values": GOOD}, headers=auth, timeout=60)
            cursor.execute("SELECT pg_terminate_backend(%s)", [first_waiter_on(cursor, table)])
        response = answer.result()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "detail": DATABASE_UNAVAILABLE,
        "hint": DATABASE_UNAVAILABLE_HINT,
        "code": "DatabaseUnavailable",
    }
    assert Annotation.objects.count() == 0
    before = lease.lease_expires_at
    lease.refresh_from_db()
    assert (lease.status, lease.annotator, lease.lease_expires_at) == (
        Assignment.Status.LEASED,
        annotator,
        before,
    )
    task = Task.objects.get(pk=lease.task_id)
    assert (task.submitted_count, task.leased_count, task.status) == (0, 1, Task.Status.OPEN)

    again = httpx.post(url, json={"values": GOOD}, headers=auth, timeout=60)  # a fresh connection
    assert again.status_code == 201, again.text
    twice = httpx.post(url, json={"values": GOOD}, headers=auth, timeout=60)
    assert twice.status_code == 409  # a third click is refused: the lease is spent
    (annotation,) = Annotation.objects.all()
    assert (
        annotation.assignment_id == lease.pk
        and annotation.values["corrected_output"] == GOOD["corrected_output"]
    )
    lease.refresh_from_db()
    task.refresh_from_db()
    assert lease.status == Assignment.Status.SUBMITTED
    assert (task.submitted_count, task.leased_count) == (1, 0)


# -- The disk fills up while an export is written ----------------------------------------
class SmallDisk:
    """The volume under ``root`` with ``free`` bytes left (None: plenty): a write past them fails
    with ENOSPC, as the kernel's would, after writing what still fits. Installed as ``open``, so
    every file opened for writing under ``root`` (release files, scratch files) draws on it."""

    def __init__(self, root: Path, free: int | None = None) -> None:
        self.root = root.resolve()
        self.free = free
        self.written = 0
        self.refused: list[Path] = []
        self._open = builtins.open

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(builtins, "open", self.open)
        monkeypatch.setattr(io, "open", self.open)  # pathlib.Path.open goes through io.open

    def open(self, file: Any, mode: str = "r", buffering: int = -1, *args: Any, **kwargs: Any) -> Any:
        if not self._mine(file, mode):
            return self._open(file, mode, buffering, *args, **kwargs)
        raw = _FillingFile(self, file, mode.replace("b", "").replace("t", ""))
        if buffering == 0:
            return raw
        size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
        buffered = io.BufferedRandom(raw, size) if "+" in mode else io.BufferedWriter(raw, size)
        return buffered if "b" in mode else io.TextIOWrapper(buffered, kwargs.get("encoding") or "utf-8")

    def _mine(self, file: Any, mode: str) -> bool:
        if not isinstance(file, str | os.PathLike) or not set(mode) & set("wax+"):
            return False
        return Path(file).resolve().is_relative_to(self.root)


class _FillingFile(io.FileIO):
    def __init__(self, disk: SmallDisk, file: Any, mode: str) -> None:
        super().__init__(file, mode)
        self._disk = disk

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        disk = self._disk
        fits = len(view) if disk.free is None else min(len(view), disk.free)
        if len(view) and not fits:
            disk.refused.append(Path(str(self.name)))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.name))
        written = super().write(view[:fits]) or 0
        disk.written += written
        if disk.free is not None:
            disk.free -= written
        return written


@pytest.fixture
def acme(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    project, lead = export_project("acme", min_samples=40)
    seed_samples(project, 60)
    return project, lead


def publish(project: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("scrubber", FakeScrubber(key=b"test-key"))
    kwargs.setdefault("embedder", HashingEmbedder(256))
    return release_publish(project=project, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("fills_in", ["scratch files", "release files"])
def test_a_disk_filling_up_during_an_export_says_disk_full_and_what_to_do_leaves_no_release_then_v1_publishes(
    acme, tmp_path, monkeypatch, fills_in
):
    project, lead = acme
    parent = tmp_path / "releases"
    disk = SmallDisk(parent)
    disk.install(monkeypatch)
    release_dry_run(project=project, scrubber=FakeScrubber(key=b"test-key"), embedder=HashingEmbedder(256))
    scratch = disk.written  # a dry run writes only the scratch files
    assert scratch > 0

    disk.free = scratch // 2 if fills_in == "scratch files" else scratch + 4096
    with pytest.raises(DiskFull) as caught:
        publish(project, user=lead)

    assert caught.value.message == DISK_FULL.format(
        release="acme-v1", parent=parent, reason="No space left on device"
    )
    assert caught.value.hint == DISK_FULL_HINT and caught.value.exit_code == 74
    first = disk.refused[0]  # (closing the half-written files retries their buffers: refused too)
    assert (".work" in first.parts) == (fills_in == "scratch files")
    assert Release.objects.count() == ReleaseItem.objects.count() == SplitAssignment.objects.count() == 0
    assert sorted(p.name for p in parent.iterdir()) == [".acme.lock"]  # no release, no temp directory
    if connection.vendor == "postgresql":
        # The stopped stream's server-side cursor is closed now: left to the garbage collector, it
        # could wait on the connection lock its own thread holds, and hang the next export.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_cursors")
            assert cursor.fetchone()[0] == 0

    disk.free = None  # space was freed
    result = publish(project, user=lead)
    assert result.release.release_id == "acme-v1" and Release.objects.count() == 1
    assert sorted(p.name for p in parent.iterdir()) == [".acme.lock", "acme-v1"]
    for method in ("sft", "dpo"):
        release_load(parent / "acme-v1", method=method)


SEED = (
    "from tests.flywheel.export.seed import export_project, seed_samples; "
    "project, _ = export_project('acme', min_samples=40); seed_samples(project, 80, scrub=True)"
)
FILE_SIZE_LIMIT = 64 * 1024  # below the export's scratch and release files, above the database's -shm


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write past the limit fails with EFBIG


@pytest.mark.slow
def test_export_release_out_of_disk_space_exits_74_saying_so_leaves_no_release_and_the_next_run_publishes_v1(
    tmp_path,
):
    """Real processes and a real kernel limit (RLIMIT_FSIZE) on the export process's files."""
    db = tmp_path / "flywheel.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "FLYWHEEL_DATA_DIR": str(tmp_path)}
    assert manage(env, "migrate", "-v0").returncode == 0
    seeded = manage(env, "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr
    # Embeddings and PII verdicts are cached by a first (dry) run, so the limited run writes to
    # the database only after its files: it is the release volume that is full, not the database's.
    warm = manage(env, "export_release", "--project", "acme", "--dry-run", "--no-progress")
    assert warm.returncode == 0, warm.stderr
    parent = tmp_path / "releases"

    full = manage(env, "export_release", "--project", "acme", "--no-progress", preexec_fn=limit_file_size)

    assert full.returncode == 74, full.stderr
    assert (
        f"error: {DISK_FULL.format(release='acme-v1', parent=parent, reason='File too large')}" in full.stderr
    )
    assert f"hint: {DISK_FULL_HINT}" in full.stderr
    assert "Traceback" not in full.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from flywheel_release").fetchone()[0] == 0
    assert sorted(p.name for p in parent.iterdir()) == [".acme.lock"]

    again = manage(env, "export_release", "--project", "acme", "--no-progress")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("published acme-v1")
    for method in ("sft", "dpo"):
        release_load(parent / "acme-v1", method=method)
