"""The nightly run record: one at a time per project, resumed at the step that broke."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from flywheel.errors import Conflict
from flywheel.models import NightlyRun
from flywheel.nightly import Step, StepError, StepOutcome
from flywheel.services.nightly import nightly_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
STEPS = ("sync", "cluster", "tasks", "release", "train", "writeback")


class Crash(BaseException):
    """What a kill -9 leaves behind: the step never returns, nothing records its end."""


def fake_steps(calls: list[str], *, crash_at: str | None = None, fail_at: str | None = None):
    def make(name):
        def run():
            calls.append(name)
            if name == crash_at:
                raise Crash
            if name == fail_at:
                raise StepError(f"{name} broke", exit_code=69)
            return StepOutcome(f"{name} done", {"n": 1})

        return run

    return lambda ctx: [Step(name, make(name)) for name in STEPS]


def test_a_clean_run_records_every_step_and_a_summary():
    project = ProjectFactory()
    calls: list[str] = []
    result = nightly_run(project=project, steps=fake_steps(calls))
    assert result.exit_code == 0 and calls == list(STEPS)
    run = NightlyRun.objects.get()
    assert run.status == "succeeded" and run.finished_at is not None
    assert [run.steps[s]["status"] for s in STEPS] == ["succeeded"] * 6
    assert "sync done" in run.summary_text and "writeback done" in run.summary_text
    assert result.reason.endswith("succeeded")


def test_a_failed_step_makes_the_exit_code_non_zero_and_names_the_step_on_the_last_line():
    project = ProjectFactory()
    result = nightly_run(project=project, steps=fake_steps([], fail_at="sync"))
    assert result.exit_code == 69
    assert result.reason == f"nightly run #{result.run.pk} of '{project.name}' failed at sync: sync broke"
    assert result.run.steps["cluster"]["status"] == "succeeded"  # the rest ran


@pytest.mark.parametrize("step", STEPS)
def test_a_run_that_crashed_in_a_step_continues_at_that_step_next_time(step):
    project = ProjectFactory()
    first: list[str] = []
    with pytest.raises(Crash):
        nightly_run(project=project, steps=fake_steps(first, crash_at=step))
    run = NightlyRun.objects.get()
    assert run.status == "running" and run.steps[step]["status"] == "running"
    # The crashed process is gone: its lock must not block the next run (a dead pid on this host).
    NightlyRun.objects.filter(pk=run.pk).update(holder="localhost-gone:999999999")
    NightlyRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    second: list[str] = []
    result = nightly_run(project=project, steps=fake_steps(second))
    assert result.exit_code == 0
    assert result.run.pk == run.pk and result.run.attempts == 2
    assert second == list(STEPS[STEPS.index(step) :])  # nothing before the crash ran again
    assert result.resumed[0] == step
    assert result.run.steps[step]["attempts"] == 2


def test_a_failed_run_is_resumed_but_a_fresh_run_can_be_asked_for():
    project = ProjectFactory()
    nightly_run(project=project, steps=fake_steps([], fail_at="release"))
    again: list[str] = []
    nightly_run(project=project, steps=fake_steps(again))
    assert again == ["release"]  # train and writeback do not need it here, so they were done
    fresh: list[str] = []
    nightly_run(project=project, fresh=True, steps=fake_steps(fresh))
    assert fresh == list(STEPS) and NightlyRun.objects.count() == 2


def test_a_run_that_failed_long_ago_is_not_resumed():
    project = ProjectFactory()
    nightly_run(project=project, steps=fake_steps([], fail_at="train"))
    NightlyRun.objects.update(started_at=timezone.now() - timedelta(days=1))
    calls: list[str] = []
    nightly_run(project=project, steps=fake_steps(calls))
    assert calls == list(STEPS)


def test_a_second_run_while_one_is_active_exits_at_once_with_a_clear_message():
    project = ProjectFactory()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        NightlyRun.objects.create(
            project=project, holder=f"{socket.gethostname()}:{sleeper.pid}", heartbeat_at=timezone.now()
        )
        calls: list[str] = []
        with pytest.raises(Conflict) as caught:
            nightly_run(project=project, steps=fake_steps(calls))
        assert calls == []
        assert f"Another nightly run of project '{project.name}' is active" in caught.value.message
        assert caught.value.exit_code == 75
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_lock_of_a_holder_on_another_host_expires_with_its_heartbeat():
    project = ProjectFactory()
    other = NightlyRun.objects.create(project=project, holder="other-host:123", heartbeat_at=timezone.now())
    with pytest.raises(Conflict):
        nightly_run(project=project, steps=fake_steps([]))
    NightlyRun.objects.filter(pk=other.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    calls: list[str] = []
    result = nightly_run(project=project, steps=fake_steps(calls))
    # The abandoned run is the latest and it failed, so it was taken over and resumed, not left behind.
    assert result.run.pk == other.pk and result.run.attempts == 2 and result.exit_code == 0
    assert calls == list(STEPS)


def test_a_dry_run_is_recorded_but_never_resumed():
    project = ProjectFactory()
    nightly_run(project=project, dry_run=True, steps=fake_steps([], fail_at="sync"))
    calls: list[str] = []
    nightly_run(project=project, dry_run=True, steps=fake_steps(calls))
    assert calls == list(STEPS)
    assert NightlyRun.objects.filter(dry_run=True).count() == 2
