"""Batch commands run at a lower CPU priority than the web workers; the others at normal priority."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.management import get_commands, load_command_class

from flywheel.management.base import FlywheelCommand

ROOT = Path(__file__).resolve().parents[2]
BATCH = {
    "sync_langfuse",
    "import_traces",
    "cluster_failures",
    "export_release",
    "write_back",
    "nightly",
    "augment",
    "generate",
}
PROBE = """
import os, django
django.setup()
from flywheel.management.base import FlywheelCommand

class Probe(FlywheelCommand):
    batch = {batch}

    def run(self, *args, **options):
        print(os.getpriority(os.PRIO_PROCESS, 0))

Probe().handle()
Probe().handle()  # twice: the niceness is a level, not a step each time
"""


def _niceness_seen(batch: bool, niceness: str | None) -> list[int]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "flywheel.settings"}
    env.pop("BATCH_NICENESS", None)
    if niceness is not None:
        env["BATCH_NICENESS"] = niceness
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(batch=batch)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [int(line) for line in done.stdout.split()]


def test_a_batch_command_runs_at_the_configured_niceness_once_and_others_at_normal_priority():
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert _niceness_seen(True, None) == [max(base, 10)] * 2  # the default
    assert _niceness_seen(True, "15") == [max(base, 15)] * 2
    assert _niceness_seen(True, "0") == [base] * 2
    assert _niceness_seen(False, "15") == [base] * 2


def test_the_long_cpu_heavy_commands_are_the_batch_ones():
    ours = {
        name: load_command_class(app, name)
        for name, app in get_commands().items()
        if app in ("flywheel", "annotate")
    }
    batch = {name for name, command in ours.items() if isinstance(command, FlywheelCommand) and command.batch}
    assert batch == BATCH
