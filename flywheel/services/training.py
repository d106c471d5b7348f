"""Training runs in the service: register a run directory, and launch training the way the nightly does.

``training_register(run_dir=...)`` reads what ``python -m training`` wrote (``flywheel.training_runs.
rundir``) into the ``TrainingRun`` row of that directory: registering again updates the same row.
``training_launch(release=..., policy=...)`` trains on a release by the project's
``FlywheelPolicy.training_mode``:

- ``in_process``: ``<this python> -m training <method> --release <release.path> --config <config>
  [--key=value from training_overrides] --output <dir>`` as a subprocess of this one;
- ``command``: the project's ``training_command`` template, placeholders ``{release}`` ``{output}``
  ``{config}`` ``{method}``, and ``{overrides}`` (the ``--key=value`` options) and ``{resume}``
  (``--resume`` when an earlier attempt left checkpoints, else nothing). A command that hands the work
  to another host and returns is waited for: until ``<output>/metrics.json`` appears on the shared
  filesystem, the run records a failure, or the timeout passes.

Either way the output streams to the log (and ``<output>/launch.log``), the whole launch ends at
``training_timeout_minutes`` (never a hang), and every ending is a ``TrainingRun``: succeeded, or failed
with what happened and the last lines of output (the release is scrubbed: no PII there). The run
directory defaults to ``DATA_DIR/runs/<release_id>-<method>``, so the nightly re-running a crashed step
finds the earlier attempt: its checkpoints are resumed, and a run that finished is registered, not
trained again.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from flywheel.errors import ConfigError, Conflict, InvalidInput, NotFound
from flywheel.models import FlywheelPolicy, Project, Release, TrainingRun
from flywheel.training_runs import launcher
from flywheel.training_runs.rundir import (
    METRICS,
    RUN_MANIFEST,
    STALE_AFTER,
    RunDirState,
    RunStatus,
    any_checkpoint,
    run_dir_read,
)

log = logging.getLogger("flywheel.training")

NO_PROJECT = "release {release} of this run is not known to this service, so the run has no project"
NO_PROJECT_HINT = "Pass --project NAME to register it under a project, or publish the release here first."
OTHER_PROJECT = "release {release} belongs to project {owner}, not {project}"
OTHER_DATA = (
    "the run trained on release {release} with manifest sha256 {theirs}, but this service's release "
    "{release} has {ours}: not the same data"
)
OTHER_DATA_HINT = "Register the run in the service that published its release."
TRAINING_OFF = "training is off for project {project} (FlywheelPolicy.training_mode is 'off')"
TRAINING_OFF_HINT = "Set training_mode to in_process or command in the project's flywheel policy."
NO_CONFIG = "training_config {path} not found"
NO_CONFIG_HINT = "Set FlywheelPolicy.training_config to a YAML file, e.g. training/configs/sft.yaml."
BAD_TIMEOUT = "training_timeout_minutes must be at least 1, not {minutes}"
OTHER_RUN = "{path} holds a run of release {other}; it cannot continue as a run of {release}"
OTHER_RUN_HINT = "Pass another output directory, or move the old run away."
STILL_RUNNING = "a training run is still running in {path} ({reason}); it is not started a second time"
STILL_RUNNING_HINT = (
    "Wait for it to finish (register it then), or stop it; a run whose heartbeat stops counts as dead "
    "after {minutes:g} minutes and is resumed by the next launch."
)
TIMED_OUT = "training did not finish within {limit} ({mode}); it was stopped. {next_step}"
NEVER_FINISHED = (
    "the training command returned, but no finished run appeared in {path} within {limit}: the training "
    "host never answered, or is still busy. If it finishes later: manage.py register_training_run {path}"
)
EXITED = "the training {what} exited with status {code} ({meaning})"
NO_METRICS = "the training process exited with status 0 but {path} holds no metrics.json"
CANNOT_START = "the training command could not be started: {problem}"
RESUME_LATER = "Its checkpoints are kept: the next launch resumes from them."
LAST_OUTPUT = "last output:\n{tail}"


def _fields(state: RunDirState) -> dict[str, Any]:
    """The ``TrainingRun`` fields a reading of the run directory determines."""
    metrics = dict(state.metrics or {})
    if isinstance(metrics.get("train"), dict):
        # The curve is the PNG; the step-by-step log would only bloat the row.
        metrics["train"] = {k: v for k, v in metrics["train"].items() if k != "log_history"}
    if state.metrics is None and state.progress:
        metrics["progress"] = state.progress  # how far a running (or dead) run got
    running = state.status == RunStatus.RUNNING
    return {
        "release_name": state.release_id,
        "method": state.method,
        "status": state.status.value,
        "config": state.config,
        "manifest": state.manifest,
        "metrics": metrics,
        "gate": state.gate,
        "promoted": state.promoted,
        "error": state.reason if state.status == RunStatus.FAILED else "",
        "started_at": state.started_at,
        "finished_at": None if running else state.finished_at,
    }


def _release_for(state: RunDirState, project: Project | None) -> tuple[Project, Release | None]:
    release = Release.objects.filter(release_id=state.release_id).select_related("project").first()
    if release is None:
        if project is None:
            raise NotFound(NO_PROJECT.format(release=state.release_id), hint=NO_PROJECT_HINT)
        return project, None
    if project is not None and release.project_id != project.pk:
        raise InvalidInput(
            OTHER_PROJECT.format(release=release.release_id, owner=release.project.name, project=project.name)
        )
    if state.release_sha256 and release.manifest_sha256 and state.release_sha256 != release.manifest_sha256:
        raise InvalidInput(
            OTHER_DATA.format(
                release=release.release_id,
                theirs=state.release_sha256[:12],
                ours=release.manifest_sha256[:12],
            ),
            hint=OTHER_DATA_HINT,
        )
    return release.project, release


def training_register(
    *, run_dir: Path | str, project: Project | None = None, stale_after: timedelta = STALE_AFTER
) -> TrainingRun:
    """Create or update the ``TrainingRun`` of ``run_dir`` from what the directory holds.

    Status: ``metrics.json`` → succeeded; a run that recorded its failure → failed with its error;
    otherwise running while its heartbeat is younger than ``stale_after``, failed (with how to resume)
    after. The release is linked by release id; ``project`` is needed only when it is not known here.
    """
    path = Path(run_dir).resolve()
    state = run_dir_read(path, stale_after=stale_after)
    owner, release = _release_for(state, project)
    run, _ = TrainingRun.objects.update_or_create(
        run_dir=str(path), defaults={"project": owner, "release": release, **_fields(state)}
    )
    log.info("training run %s registered: %s", path, run.status)
    return run


def _output_dir(release: Release, method: str, output_dir: Path | str | None) -> Path:
    if output_dir is not None:
        return Path(output_dir).resolve()
    return (Path(settings.DATA_DIR) / "runs" / f"{release.release_id}-{method}").resolve()


def _config_path(policy: FlywheelPolicy) -> Path:
    path = Path(policy.training_config)
    path = path if path.is_absolute() else Path(settings.BASE_DIR) / path
    if not path.is_file():
        raise ConfigError(NO_CONFIG.format(path=policy.training_config), hint=NO_CONFIG_HINT)
    return path


def _should_resume(out: Path, release: Release) -> bool:
    """An earlier attempt for this release left checkpoints: continue it (another release: refuse).

    An attempt that is still alive (a fresh heartbeat: the nightly died, its training did not) is a
    Conflict: two processes must never train into one directory.
    """
    try:
        state = run_dir_read(out)
    except (InvalidInput, NotFound):
        return any_checkpoint(out)  # checkpoints without a readable manifest: python -m training decides
    if state.release_id != release.release_id or (
        state.release_sha256 and release.manifest_sha256 and state.release_sha256 != release.manifest_sha256
    ):
        raise ConfigError(
            OTHER_RUN.format(path=out, other=state.release_id, release=release.release_id),
            hint=OTHER_RUN_HINT,
        )
    if state.status == RunStatus.RUNNING:
        raise Conflict(
            STILL_RUNNING.format(path=out, reason=state.reason),
            hint=STILL_RUNNING_HINT.format(minutes=STALE_AFTER.total_seconds() / 60),
        )
    return any_checkpoint(out)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} minute(s)" if seconds >= 60 else f"{seconds:g} s"


def _argv(policy: FlywheelPolicy, release: Release, out: Path, resume: bool) -> list[str]:
    method = policy.training_method
    if policy.training_mode == FlywheelPolicy.TrainingMode.IN_PROCESS:
        return launcher.training_argv(
            python=sys.executable, method=method, release=str(release.path),
            config=str(_config_path(policy)), output=str(out),
            overrides=policy.training_overrides or {}, resume=resume,
        )  # fmt: skip
    return launcher.command_fill(
        policy.training_command,
        {
            "release": str(release.path),
            "output": str(out),
            "config": policy.training_config,
            "method": method,
            "overrides": launcher.override_options(policy.training_overrides or {}),
            "resume": ["--resume"] if resume else [],
        },
    )


def training_launch(
    *,
    release: Release,
    policy: FlywheelPolicy,
    output_dir: Path | str | None = None,
    timeout_seconds: float | None = None,
    poll_seconds: float = 10.0,
) -> TrainingRun:
    """Train on ``release`` as ``policy`` says and record the run; see the module docstring.

    Misconfiguration (training off, a bad template, a missing config) raises ConfigError before anything
    starts; everything after the start ends as a TrainingRun. ``timeout_seconds`` overrides the policy's
    ``training_timeout_minutes`` (tests, one-off runs).
    """
    mode = policy.training_mode
    if mode == FlywheelPolicy.TrainingMode.OFF:
        raise ConfigError(TRAINING_OFF.format(project=release.project.name), hint=TRAINING_OFF_HINT)
    if timeout_seconds is None and policy.training_timeout_minutes < 1:
        raise ConfigError(BAD_TIMEOUT.format(minutes=policy.training_timeout_minutes))
    timeout = float(timeout_seconds if timeout_seconds is not None else policy.training_timeout_minutes * 60)
    out = _output_dir(release, policy.training_method, output_dir)
    if (out / METRICS).is_file():
        log.info("training run %s already finished; registering it instead of training again", out)
        return training_register(run_dir=out, project=release.project)
    resume = _should_resume(out, release)
    argv = _argv(policy, release, out, resume)  # ConfigError here: nothing has started

    run, _ = TrainingRun.objects.update_or_create(
        run_dir=str(out),
        defaults={
            "project": release.project, "release": release, "release_name": release.release_id,
            "method": policy.training_method, "status": TrainingRun.Status.RUNNING, "error": "",
            "promoted": False, "metrics": {}, "gate": {},
            "started_at": datetime.now(UTC), "finished_at": None,
        },
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    log.info("training %s on %s (%s%s): %s", policy.training_method, release.release_id, mode,
             ", resuming" if resume else "", out)  # fmt: skip
    began = time.monotonic()
    with (out / "launch.log").open("a", encoding="utf-8") as launch_log:

        def on_line(line: str) -> None:
            log.info("[training] %s", line)
            if not launch_log.closed:  # a grandchild may still talk after the deadline closed the log
                launch_log.write(line + "\n")
                launch_log.flush()

        outcome = launcher.process_supervise(
            argv,
            cwd=Path(settings.BASE_DIR),
            env=launcher.child_env(os.environ),
            timeout=timeout,
            on_line=on_line,
        )
    error = _outcome_error(outcome, mode, timeout, out)
    finished = (out / METRICS).is_file()
    if not error and not finished and mode == FlywheelPolicy.TrainingMode.COMMAND:
        # A job submission returns at once; the run appears on the shared filesystem later, or never.
        if not launcher.run_dir_wait(out, deadline=began + timeout, poll=poll_seconds):
            error = NEVER_FINISHED.format(path=out, limit=_minutes(timeout))
    elif not error and not finished:
        error = NO_METRICS.format(path=out)
    return _finish(run, out, error, outcome.tail)


def _outcome_error(outcome: launcher.ProcessOutcome, mode: str, timeout: float, out: Path) -> str:
    what = "process" if mode == FlywheelPolicy.TrainingMode.IN_PROCESS else "command"
    if outcome.start_error:
        return CANNOT_START.format(problem=outcome.start_error)
    if outcome.timed_out:
        resumable = any_checkpoint(out)
        return TIMED_OUT.format(
            limit=_minutes(timeout), mode=f"training_mode {mode}", next_step=RESUME_LATER if resumable else ""
        ).strip()
    if outcome.returncode != 0:
        return EXITED.format(
            what=what, code=outcome.returncode, meaning=launcher.exit_meaning(outcome.returncode)
        )
    return ""


def _finish(run: TrainingRun, out: Path, error: str, tail: tuple[str, ...]) -> TrainingRun:
    state = None
    if (out / RUN_MANIFEST).is_file():
        try:
            state = run_dir_read(out)
        except InvalidInput as exc:
            error = f"{error}. {exc.message}" if error else exc.message
    if state is not None:
        for name, value in _fields(state).items():
            setattr(run, name, value)
    if error:
        parts = [error]
        failed_there = state is not None and state.status.value == TrainingRun.Status.FAILED
        if state is not None and failed_there and state.reason and state.reason not in error:
            parts.append(f"the run directory says: {state.reason}")
        if tail:
            parts.append(LAST_OUTPUT.format(tail="\n".join(tail)))
        run.status, run.error, run.promoted = TrainingRun.Status.FAILED, "\n".join(parts), False
        run.finished_at = run.finished_at or datetime.now(UTC)
    run.save()
    log.info("training run %s: %s", out, run.status)
    return run
