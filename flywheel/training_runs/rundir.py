"""What a run directory written by ``python -m training`` says about its run, read without Django.

The layout is the contract (training/README.md, "The run directory"): ``run_manifest.json`` is written
when a run starts (``status: running``) and updated when it ends (``finished``, or ``failed`` with the
error); ``progress.json`` is its heartbeat, rewritten every 30 s while the process lives;
``metrics.json`` is written last, so its presence means the run finished. A run killed by SIGKILL, the
OOM killer or a lost host writes nothing on its way out: its heartbeat just stops. So:

- ``metrics.json`` present → succeeded (promoted or not: the gate verdict is inside);
- the manifest says failed → failed, with the training's own error;
- otherwise a heartbeat younger than ``stale_after`` → running; an older one → failed, with the last
  phase and step, the last complete checkpoint and the command that resumes it.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from flywheel.errors import InvalidInput, NotFound
from flywheel.paths import require_inside

RUN_MANIFEST, METRICS, PROGRESS = "run_manifest.json", "metrics.json", "progress.json"
CHECKPOINT_MARKER = "config.yaml"  # the last file of a checkpoint save (training.modeling)
STALE_AFTER = timedelta(minutes=10)
METHODS = ("sft", "dpo")

NOT_A_DIRECTORY = "{path} is not a directory"
NOT_A_DIRECTORY_HINT = "Pass the run directory python -m training wrote (its --output)."
NOT_A_RUN = "{path} is not a training run directory: it holds no run_manifest.json"
NOT_A_RUN_HINT = (
    "python -m training writes run_manifest.json as soon as a run starts; pass the directory given as "
    "--output (it also holds config.yaml, checkpoints/ and, once finished, metrics.json)."
)
UNREADABLE = "{path}: not valid JSON ({problem}); the file was cut off or edited"
BAD_MANIFEST = "{path}: {problem}; is this a run directory of python -m training?"
FAILED_UNKNOWN = "the run failed without recording why (run_manifest.json has no error)"
FINISHED_WITHOUT_METRICS = (
    "run_manifest.json says the run finished, but metrics.json is missing: it was deleted, or the "
    "directory was copied back from the training host incompletely"
)
RUNNING = "{where}, heartbeat {age} ago"
STALE = (
    "no heartbeat for {age} ({where}, last at {last}) and no metrics.json: the training process ended "
    "without finishing (killed, out of memory, or its host went down). {next_step}"
)
GONE = (
    "the training process (pid {pid} on this host) is gone and left no metrics.json: it was killed "
    "or crashed ({where}). {next_step}"
)
RESUME_FROM = "Its last complete checkpoint is {checkpoint}; continue it with: {command}"
NO_CHECKPOINT = "It left no complete checkpoint; start it again."


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class RunDirState:
    """One reading of a run directory; ``reason`` says why the status is what it is ("" when succeeded)."""

    path: Path
    status: RunStatus
    reason: str
    manifest: dict[str, Any]
    release_id: str
    release_sha256: str
    method: str
    metrics: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    last_checkpoint: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def config(self) -> dict[str, Any]:
        config = self.manifest.get("config")
        return config if isinstance(config, dict) else {}

    @property
    def promoted(self) -> bool:
        return bool(self.metrics and self.metrics.get("promoted") is True)

    @property
    def gate(self) -> dict[str, Any]:
        gate = (self.metrics or {}).get("gate")
        return gate if isinstance(gate, dict) else {}


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(UNREADABLE.format(path=path, problem=type(exc).__name__)) from exc


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def last_complete_checkpoint(run_dir: Path) -> str | None:
    """The newest ``checkpoints/checkpoint-N`` whose save finished (its marker file is the last written)."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return None
    done = [
        p
        for p in folder.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / CHECKPOINT_MARKER).is_file()
    ]
    best = max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)
    return best.name if best else None


def any_checkpoint(run_dir: Path) -> bool:
    """Any ``checkpoint-*`` at all, complete or not: ``python -m training`` wants --resume then."""
    return any((run_dir / "checkpoints").glob("checkpoint-*"))


def age_text(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def resume_command(manifest: dict[str, Any]) -> str:
    """The run's own command line with --resume: same release, config, overrides and output."""
    argv = [str(a) for a in manifest.get("argv") or []]
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join(["python", "-m", "training", *argv])


def _last_sign_of_life(root: Path, progress: dict[str, Any] | None) -> datetime | None:
    """The heartbeat's own time; else (a run from before heartbeats) the newest file it wrote."""
    beat = _when((progress or {}).get("updated_at"))
    if beat is not None:
        return beat
    candidates = [
        root / RUN_MANIFEST,
        root / PROGRESS,
        *root.glob("checkpoints/*"),
        *root.glob("tensorboard/*"),
    ]
    times = [p.stat().st_mtime for p in candidates if p.exists()]
    return datetime.fromtimestamp(max(times), tz=UTC) if times else None


def _where(progress: dict[str, Any] | None) -> str:
    if not progress:
        return "phase unknown"
    where = f"phase {progress.get('phase', 'unknown')}"
    if progress.get("step") is not None:
        planned = progress.get("planned_steps")
        where += f", step {progress['step']}" + (f" of {planned}" if planned else "")
    return where


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _gone_here(progress: dict[str, Any] | None, local_host: str) -> int | None:
    """The heartbeat's pid when it was written on this host by a process that no longer exists."""
    if not progress or progress.get("host") != local_host or not isinstance(progress.get("pid"), int):
        return None
    return None if pid_alive(progress["pid"]) else int(progress["pid"])


def _identity(root: Path, manifest: Any) -> tuple[str, str, str]:
    where = root / RUN_MANIFEST
    if not isinstance(manifest, dict):
        raise InvalidInput(BAD_MANIFEST.format(path=where, problem="expected a JSON object"))
    release = manifest.get("release")
    if not isinstance(release, dict) or not isinstance(release.get("release_id"), str):
        raise InvalidInput(BAD_MANIFEST.format(path=where, problem="it names no release.release_id"))
    method = manifest.get("method")
    if method not in METHODS:
        raise InvalidInput(BAD_MANIFEST.format(path=where, problem=f"method must be one of {METHODS}"))
    return release["release_id"], str(release.get("manifest_sha256") or ""), str(method)


def run_dir_read(
    path: Path | str,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
    local_host: str | None = None,
) -> RunDirState:
    """Read ``path``; NotFound when it is no directory, InvalidInput when it is not a run directory.

    A heartbeat written on this host (``local_host``, default this machine's name) by a process that no
    longer exists means a dead run at once, whatever its age; other hosts' runs go by ``stale_after``.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotFound(NOT_A_DIRECTORY.format(path=root), hint=NOT_A_DIRECTORY_HINT)
    if not (root / RUN_MANIFEST).is_file():
        raise InvalidInput(NOT_A_RUN.format(path=root), hint=NOT_A_RUN_HINT)
    for name in (RUN_MANIFEST, PROGRESS, METRICS):
        if (root / name).exists() or (root / name).is_symlink():
            # A link out of the run directory would record (and the run page serve) a foreign file.
            require_inside(root, root / name, what="a training run")
    manifest = _json(root / RUN_MANIFEST)
    release_id, release_sha, method = _identity(root, manifest)
    progress = None
    if (root / PROGRESS).is_file():
        try:
            progress = _json(root / PROGRESS)
        except InvalidInput:
            progress = None  # a heartbeat is advisory; the file times still tell
    common: dict[str, Any] = {
        "path": root,
        "manifest": manifest,
        "release_id": release_id,
        "release_sha256": release_sha,
        "method": method,
        "progress": progress if isinstance(progress, dict) else None,
        "last_checkpoint": last_complete_checkpoint(root),
        "started_at": _when(manifest.get("started_at")),
        "finished_at": _when(manifest.get("finished_at") or manifest.get("failed_at")),
    }
    if (root / METRICS).is_file():
        try:
            metrics = _json(root / METRICS)
        except InvalidInput as exc:
            return RunDirState(status=RunStatus.FAILED, reason=exc.message, **common)
        if not isinstance(metrics, dict) or not isinstance(metrics.get("gate"), dict):
            reason = f"{root / METRICS}: no gate verdict inside; not written by python -m training"
            return RunDirState(status=RunStatus.FAILED, reason=reason, **common)
        return RunDirState(status=RunStatus.SUCCEEDED, reason="", metrics=metrics, **common)
    status = manifest.get("status")
    if status == "failed":
        reason = str(manifest.get("error") or FAILED_UNKNOWN)
        return RunDirState(status=RunStatus.FAILED, reason=reason, **common)
    if status == "finished":
        return RunDirState(status=RunStatus.FAILED, reason=FINISHED_WITHOUT_METRICS, **common)
    now = now or datetime.now(UTC)
    last = _last_sign_of_life(root, common["progress"])
    where = _where(common["progress"])
    checkpoint = common["last_checkpoint"]
    next_step = (
        RESUME_FROM.format(checkpoint=checkpoint, command=resume_command(manifest))
        if checkpoint
        else NO_CHECKPOINT
    )
    gone = _gone_here(common["progress"], local_host or socket.gethostname())
    if gone is not None:
        reason = GONE.format(pid=gone, where=where, next_step=next_step)
        return RunDirState(status=RunStatus.FAILED, reason=reason, **common)
    if last is not None and now - last <= stale_after:
        return RunDirState(
            status=RunStatus.RUNNING, reason=RUNNING.format(where=where, age=age_text(now - last)), **common
        )
    last = last or datetime.fromtimestamp(0, tz=UTC)
    reason = STALE.format(
        age=age_text(now - last), where=where, last=last.isoformat(timespec="seconds"), next_step=next_step
    )
    return RunDirState(status=RunStatus.FAILED, reason=reason, **common)
