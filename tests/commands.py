"""Running the service's commands from tests: in this process (``run_command``) or as a child (``manage``)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[1]


def run_command(name: str, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``manage.py name args`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def manage(
    env: dict[str, str], *args: str, timeout: float = 600, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``manage.py args`` in a child process with ``env``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
