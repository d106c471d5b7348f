"""A run killed with SIGKILL after its first checkpoint resumes with --resume and ends at the planned step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.training.conftest import ROOT, train_args
from training.modeling import last_complete_checkpoint

PLANNED = 40


def test_the_newest_checkpoint_whose_save_finished_is_the_resume_point(tmp_path: Path) -> None:
    for step, complete in ((4, True), (8, True), (12, False), (100, False)):
        checkpoint = tmp_path / f"checkpoint-{step}"
        checkpoint.mkdir()
        if complete:
            (checkpoint / "config.yaml").write_text("{}")
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-8"
    assert last_complete_checkpoint(tmp_path / "absent") is None


@pytest.mark.slow
def test_a_run_killed_after_its_first_checkpoint_resumes_to_the_planned_step(
    tiny_model: Path, release_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "training",
        *train_args("sft", release_dir, tiny_model, out),
        f"--max_steps={PLANNED}", "--save_steps=4", "--eval_steps=4", "--early_stopping_patience=0",
        "--eval_generate_rows=2", "--save_total_limit=null",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        first_checkpoint = out / "checkpoints" / "checkpoint-4" / "config.yaml"
        deadline = time.monotonic() + 180
        while not first_checkpoint.exists():
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL

    killed_at = last_complete_checkpoint(out / "checkpoints")
    assert killed_at is not None and int(killed_at.name.split("-")[1]) < PLANNED
    assert not (out / "metrics.json").exists()
    # SIGKILL leaves no last word: the manifest still says running, the heartbeat just stops.
    assert json.loads((out / "run_manifest.json").read_text())["status"] == "running"
    assert json.loads((out / "progress.json").read_text())["phase"] == "train"

    resumed = subprocess.run(
        [*command, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    train = json.loads((out / "metrics.json").read_text())["train"]
    assert train["steps"] == train["planned_steps"] == PLANNED
    assert train["resumed_from"] == str(killed_at)
    state = json.loads((out / "checkpoints" / f"checkpoint-{PLANNED}" / "trainer_state.json").read_text())
    assert state["global_step"] == PLANNED
    logged = [entry["step"] for entry in train["log_history"] if "loss" in entry]
    assert logged == list(range(2, PLANNED + 1, 2))  # the history before the kill survived the resume


@pytest.mark.slow
def test_a_run_stopped_with_sigterm_records_why_before_it_exits(
    tiny_model: Path, release_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "training",
        *train_args("sft", release_dir, tiny_model, out),
        f"--max_steps={PLANNED}", "--save_steps=4", "--eval_steps=4", "--eval_generate_rows=2",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with (tmp_path / "run.log").open("w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while not (out / "progress.json").exists() or '"train"' not in (out / "progress.json").read_text():
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"].startswith("stopped by SIGTERM")
    assert json.loads((out / "progress.json").read_text())["phase"] == "failed"
    assert "error: stopped by SIGTERM; continue the run with --resume" in (tmp_path / "run.log").read_text()
