"""Start ``python -m training`` (or a project's own command) and supervise it, without Django.

- ``training_argv``: the in-process command line (the service's own interpreter, ``-m training``).
- ``command_fill``: a project's command template (``FlywheelPolicy.training_command``) with its
  placeholders filled in, each value quoted with ``shlex.quote`` and the result split like a shell
  line. No shell is started: pipes, ``$VAR`` and ``&&`` are not interpreted (wrap the command in
  ``sh -c '...'`` or a script when the host needs them).
- ``process_supervise``: runs a command line in its own process group, streams every output line to a
  callback, and ends it at the deadline (SIGTERM, then SIGKILL after a grace period). Never hangs:
  the reader thread is joined with a timeout, so a grandchild that keeps the pipe open cannot block.
- ``run_dir_wait``: for commands that hand the work to another host and return (a job submission),
  polls the run directory until it is finished or failed, or the deadline passes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import string
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flywheel.errors import ConfigError
from flywheel.training_runs.rundir import METRICS, RUN_MANIFEST

PLACEHOLDERS = ("release", "output", "config", "method", "overrides", "resume")
RESERVED_OPTIONS = {"release", "config", "output", "resume"}  # set by the launch itself
FLAG_OPTIONS = {"merge"}  # --merge takes no value
# The service's secrets have no business in a training process (or on a GPU host's process list).
DROPPED_ENV = {"SECRET_KEY", "PII_HASH_KEY", "DATABASE_URL"}
DROPPED_ENV_PREFIXES = ("LANGFUSE_",)
QUIET_ENV = {"PYTHONUNBUFFERED": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1"}
TAIL_LINES = 30
GRACE_SECONDS = 20.0

UNKNOWN_PLACEHOLDER = "training_command names an unknown placeholder {{{name}}}; the placeholders are {known}"
FORMATTED_PLACEHOLDER = (
    "training_command: placeholder {{{name}}} takes no format or conversion; write {{{name}}}"
)
BAD_COMMAND_LINE = "training_command is not a valid command line ({problem}); check its quotes"
EMPTY_COMMAND = "training_command is empty; set a command template or use training_mode in_process"
BAD_OVERRIDE = (
    "training_overrides: {key!r} is not an option name; use config field names such as base_model or "
    "learning_rate"
)
RESERVED_OVERRIDE = "training_overrides: --{key} is set by the launch itself; remove it from the overrides"
_OPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def override_options(overrides: Mapping[str, Any]) -> list[str]:
    """``{"base_model": "/m", "merge": true}`` → ``["--base_model=/m", "--merge"]``.

    Non-string values are written as JSON, which the training CLI reads as YAML (lists, null, numbers).
    """
    options = []
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not _OPTION_NAME.match(key):
            raise ConfigError(BAD_OVERRIDE.format(key=key))
        if key.replace("-", "_") in RESERVED_OPTIONS:
            raise ConfigError(RESERVED_OVERRIDE.format(key=key))
        if key in FLAG_OPTIONS:
            if value is True or str(value).lower() == "true":
                options.append(f"--{key}")
            continue
        text = value if isinstance(value, str) else json.dumps(value)  # JSON is valid YAML
        options.append(f"--{key}={text}")
    return options


def training_argv(
    *,
    python: str,
    method: str,
    release: str,
    config: str,
    output: str,
    overrides: Mapping[str, Any],
    resume: bool,
) -> list[str]:
    return [
        python, "-m", "training", method, "--release", release, "--config", config,
        *override_options(overrides), "--output", output, *(["--resume"] if resume else []),
    ]  # fmt: skip


def command_fill(template: str, values: Mapping[str, str | Sequence[str]]) -> list[str]:
    """Fill ``template``'s placeholders (a list value expands to several arguments, none when empty)."""
    if not template.strip():
        raise ConfigError(EMPTY_COMMAND)
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:  # a lone "{" or "}"
        raise ConfigError(BAD_COMMAND_LINE.format(problem=exc)) from exc
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise ConfigError(UNKNOWN_PLACEHOLDER.format(name=name, known=known))
        if spec or conversion:
            raise ConfigError(FORMATTED_PLACEHOLDER.format(name=name))
    quoted = {
        key: shlex.quote(value) if isinstance(value, str) else " ".join(shlex.quote(v) for v in value)
        for key, value in values.items()
    }
    try:
        argv = shlex.split(template.format(**quoted))
    except ValueError as exc:
        raise ConfigError(BAD_COMMAND_LINE.format(problem=exc)) from exc
    if not argv:
        raise ConfigError(EMPTY_COMMAND)
    return argv


def child_env(base: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in DROPPED_ENV and not k.startswith(DROPPED_ENV_PREFIXES)}
    return {**env, **QUIET_ENV}


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int | None  # None: it was still running at the deadline and was ended
    timed_out: bool
    tail: tuple[str, ...]  # the last lines of its output
    seconds: float
    start_error: str = ""  # the command could not be started at all (not found, not executable)


def exit_meaning(code: int | None) -> str:
    """How ``python -m training`` (and a shell) use exit codes."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return {
        0: "success",
        1: "a training error",
        2: "a bad config or option",
        3: "a bad release",
        126: "the command is not executable",
        127: "the command was not found",
        137: "killed (SIGKILL; often out of memory)",
        143: "stopped by SIGTERM",
    }.get(code, "an error")


def _end_group(proc: subprocess.Popen[str], grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def process_supervise(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    on_line: Callable[[str], None],
    grace: float = GRACE_SECONDS,
    tail_lines: int = TAIL_LINES,
) -> ProcessOutcome:
    began = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,  # its own process group: the deadline ends its children too
        )
    except OSError as exc:
        return ProcessOutcome(None, False, (), 0.0, start_error=f"{argv[0]}: {exc.strerror or exc}")

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if line.strip():
                tail.append(line)
                on_line(line)

    reader = threading.Thread(target=pump, name="training-output", daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=max(timeout, 0.0))
    except subprocess.TimeoutExpired:
        timed_out = True
        _end_group(proc, grace)
    except BaseException:
        _end_group(proc, grace)  # the supervisor itself is going down: do not leave an orphan behind
        raise
    reader.join(timeout=5)
    code = None if timed_out else proc.returncode
    return ProcessOutcome(code, timed_out, tuple(tail), time.monotonic() - began)


def run_dir_ended(path: Path) -> bool:
    """Finished (metrics.json written) or failed (the manifest says so): nothing more will happen."""
    if (path / METRICS).is_file():
        return True
    try:
        manifest = json.loads((path / RUN_MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("status") == "failed"


def run_dir_wait(
    path: Path,
    *,
    deadline: float,
    poll: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """True once the run in ``path`` ended, False at ``deadline`` (a ``clock()`` value)."""
    while True:
        if run_dir_ended(path):
            return True
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(poll, remaining))
