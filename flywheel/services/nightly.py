"""The nightly flywheel of one project: sync → cluster → tasks → release → train → write back.

One run at a time per project (a lock that a crashed holder loses when its heartbeat stops, or
at once when its pid is gone from this host). A run that failed or crashed is resumed by the
next invocation within :data:`RESUME_WINDOW`: the steps already done are not repeated, the one
that broke runs again. After that window a new run starts (yesterday's steps are stale).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from flywheel.errors import Conflict
from flywheel.locks import Holder, holder_state, this_process
from flywheel.models import FlywheelPolicy, NightlyRun, Project
from flywheel.nightly import Step, StepStatus, failed_steps, in_order, reset_unfinished, run_steps
from flywheel.services import nightly_steps

log = logging.getLogger(__name__)

LOCK_TTL = timedelta(minutes=10)
RESUME_WINDOW = timedelta(hours=20)
STEP_TITLES = {
    "sync": "Sync traces from Langfuse",
    "cluster": "Flag, embed, dedup, cluster",
    "tasks": "Create labeling tasks",
    "release": "Export a release",
    "train": "Train and evaluate",
    "writeback": "Write labels back to Langfuse",
}
BUSY = (
    "Another nightly run of project '{project}' is active (run #{run} on {holder}, last sign of life "
    "{beat:%Y-%m-%d %H:%M:%S} UTC). Nothing was done. If it crashed, its lock expires {ttl} minutes "
    "after that; then run again."
)


@dataclass
class NightlyResult:
    run: NightlyRun
    exit_code: int
    resumed: list[str] = field(default_factory=list)  # steps re-run from an earlier attempt

    @property
    def reason(self) -> str:
        """The last line: what failed, or that everything is done."""
        failed = failed_steps(self.run.steps)
        if not failed:
            return f"nightly run #{self.run.pk} of '{self.run.project.name}' {self.run.status}"
        first = self.run.steps[failed[0]]
        why = first.get("error") or first.get("message") or "failed"
        return f"nightly run #{self.run.pk} of '{self.run.project.name}' failed at {failed[0]}: {why}"


def policy_of(project: Project) -> FlywheelPolicy:
    policy, _ = FlywheelPolicy.objects.get_or_create(project=project)
    return policy


def nightly_run(
    *,
    project: Project,
    dry_run: bool = False,
    fresh: bool = False,
    progress: bool = False,
    traceback: bool = False,
    heartbeat_seconds: float | None = None,
    steps: Callable[[nightly_steps.Context], list[Step]] = nightly_steps.build,
) -> NightlyResult:
    """Opens (or resumes) the project's run, runs its steps, stores and returns the summary."""
    run, resumed = _open(project, dry_run=dry_run, fresh=fresh)
    context = nightly_steps.Context(
        project=project, policy=policy_of(project), dry_run=dry_run, progress=progress, run=run
    )
    beat = _Heartbeat(
        run.pk, settings.NIGHTLY_HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
    )
    beat.start()
    record = dict(run.steps)

    def save(current: MutableMapping[str, dict[str, Any]]) -> None:
        run.steps = dict(current)
        run.heartbeat_at = timezone.now()
        NightlyRun.objects.filter(pk=run.pk).update(steps=run.steps, heartbeat_at=run.heartbeat_at)

    try:
        exit_code = run_steps(steps(context), record, save=save, traceback=traceback)
    finally:
        beat.stop()
    run.status = NightlyRun.Status.FAILED if exit_code else NightlyRun.Status.SUCCEEDED
    run.summary = {
        name: {k: e.get(k) for k in ("status", "message", "error", "counts")} for name, e in in_order(record)
    }
    run.summary_text = summary_text(run)
    run.error = "" if not exit_code else NightlyResult(run, exit_code).reason
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "summary", "summary_text", "error", "finished_at", "steps"])
    log.info(
        "nightly run %s %s",
        run.pk,
        run.status,
        extra={
            "project": project.name,
            "run": run.pk,
            "counts": {n: e["status"] for n, e in in_order(record)},
        },
    )
    return NightlyResult(run=run, exit_code=exit_code, resumed=resumed)


def summary_text(run: NightlyRun) -> str:
    """One line per step, in order: what it did, why it did nothing, or why it failed."""
    lines = [f"Nightly run #{run.pk} of {run.project.name}" + (" (dry run)" if run.dry_run else "")]
    for name, entry in in_order(run.steps):
        status = entry["status"]
        text = (entry.get("error") if status == StepStatus.FAILED.value else "") or entry.get("message")
        lines.append(f"  {STEP_TITLES.get(name, name):<32} {status:<9} {text or ''}".rstrip())
    return "\n".join(lines)


def _open(project: Project, *, dry_run: bool, fresh: bool) -> tuple[NightlyRun, list[str]]:
    now = timezone.now()
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        for other in NightlyRun.objects.filter(project=project, status=NightlyRun.Status.RUNNING):
            beat = other.heartbeat_at or other.started_at
            state = holder_state(other.holder)
            # On this host the pid decides (a long step on SQLite beats rarely); elsewhere the heartbeat.
            if state is Holder.ALIVE or (state is Holder.UNKNOWN and now - beat < LOCK_TTL):
                raise Conflict(
                    BUSY.format(
                        project=project.name,
                        run=other.pk,
                        holder=other.holder or "an unknown host",
                        beat=beat,
                        ttl=int(LOCK_TTL.total_seconds() // 60),
                    )
                )
            other.status = NightlyRun.Status.FAILED
            other.error = f"abandoned: no sign of life since {beat:%Y-%m-%d %H:%M:%S} UTC (crashed or killed)"
            other.finished_at = now
            other.save(update_fields=["status", "error", "finished_at"])
        previous = NightlyRun.objects.filter(project=project, dry_run=False).first()
        resumable = (
            not dry_run
            and not fresh
            and previous is not None
            and previous.status == NightlyRun.Status.FAILED
            and now - previous.started_at < RESUME_WINDOW
        )
        if resumable:
            assert previous is not None
            steps = dict(previous.steps)
            again = reset_unfinished(steps)
            NightlyRun.objects.filter(pk=previous.pk).update(
                status=NightlyRun.Status.RUNNING,
                steps=steps,
                attempts=previous.attempts + 1,
                holder=this_process(),
                heartbeat_at=now,
                finished_at=None,
                error="",
            )
            previous.refresh_from_db()
            return previous, again
        run = NightlyRun.objects.create(
            project=project, dry_run=dry_run, holder=this_process(), heartbeat_at=now
        )
        return run, []


class _Heartbeat:
    """Beats the run's heartbeat from a thread while a long step (training, a big sync) runs."""

    def __init__(self, run_id: int, seconds: float) -> None:
        self.run_id, self.seconds = run_id, seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.seconds > 0:
            self._thread = threading.Thread(
                target=self._loop, name=f"nightly-heartbeat-{self.run_id}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.seconds):
                try:
                    NightlyRun.objects.filter(pk=self.run_id).update(heartbeat_at=timezone.now())
                except Exception:  # a missed beat is not worth failing the run for
                    log.warning("nightly heartbeat of run %s missed", self.run_id)
        finally:
            close_old_connections()
            connection.close()
