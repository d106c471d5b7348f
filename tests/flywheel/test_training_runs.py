"""Training runs in the service: registering a run directory, launching training as the nightly does,
the runs pages and API, and who may see them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from annotate.models import Role
from flywheel.errors import ConfigError, Conflict, InvalidInput, NotFound
from flywheel.models import FlywheelPolicy, Project, Release, TrainingRun
from flywheel.services.training import training_launch, training_register
from flywheel.training_runs.rundir import NOT_A_RUN
from tests.factories import ProjectFactory, UserFactory, member
from tests.flywheel.training_run_factory import write_run_dir
from tests.training.conftest import ROOT, TINY_CONFIG
from tests.training.release_factory import write_release

pytestmark = pytest.mark.django_db
PY = sys.executable
# Small enough that a real tiny run takes seconds: 2 optimizer steps, a checkpoint each step.
TINY_STEPS = {"max_steps": 2, "save_steps": 1, "eval_steps": 1, "logging_steps": 1, "eval_generate_rows": 2}


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # training subprocesses: the tiny model is faster on one


@pytest.fixture
def project():
    return ProjectFactory(name="acme")


def release_of(project, release_dir: Path) -> Release:
    sha = hashlib.sha256((release_dir / "manifest.json").read_bytes()).hexdigest()
    return Release.objects.create(
        project=project, number=1, release_id="factory-v1", path=str(release_dir), manifest_sha256=sha
    )


def policy_of(project, **fields) -> FlywheelPolicy:
    defaults = {"training_mode": "in_process", "training_config": str(TINY_CONFIG), "training_method": "sft"}
    return FlywheelPolicy.objects.create(project=project, **{**defaults, **fields})


# --- register ---------------------------------------------------------------------------------------


def test_a_finished_run_is_registered_as_succeeded_with_metrics_gate_release_and_config(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release = release_of(project, release_dir)
    run_dir = write_run_dir(tmp_path / "run", release_dir)
    run = training_register(run_dir=run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (run.status, run.project, run.release, run.release_name) == (
        "succeeded",
        project,
        release,
        "factory-v1",
    )
    assert run.method == "sft" and run.error == ""
    assert run.promoted is metrics["promoted"] is True
    assert run.gate == metrics["gate"] and run.gate["reasons"][0].startswith("all ")
    assert set(run.metrics["slices"]) == {"cluster", "task_type", "source", "difficulty"}
    assert run.metrics["adapter"]["eval_loss"] < run.metrics["base"]["eval_loss"]
    assert "log_history" not in run.metrics["train"]  # the curve is the PNG; the row stays small
    assert run.config == json.loads((run_dir / "run_manifest.json").read_text())["config"]
    assert run.manifest["release"]["manifest_sha256"] == release.manifest_sha256
    assert run.run_dir == str(run_dir.resolve())
    assert run.started_at is not None and run.finished_at is not None and run.started_at < run.finished_at


def test_registering_the_same_directory_twice_updates_the_same_row(
    project, release_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release_of(project, release_dir)
    run_dir = write_run_dir(tmp_path / "run", release_dir, state="running")
    first = training_register(run_dir=run_dir)
    assert first.status == "running"
    write_run_dir(tmp_path / "run2", release_dir)  # the run finishes: its records appear
    for name in ("metrics.json", "run_manifest.json", "report.md", "loss_curve.png", "progress.json"):
        shutil.copy(tmp_path / "run2" / name, run_dir / name)
    monkeypatch.chdir(tmp_path)
    again = training_register(run_dir=Path("run") / ".." / "run")  # another spelling of the same path
    assert again.pk == first.pk and TrainingRun.objects.count() == 1
    assert again.status == "succeeded" and again.metrics["promoted"] is True


def test_a_run_that_recorded_its_failure_is_failed_with_the_trainings_own_error(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release_of(project, release_dir)
    run = training_register(run_dir=write_run_dir(tmp_path / "run", release_dir, state="failed"))
    assert run.status == "failed" and run.error == "CUDA out of memory. Tried to allocate 2.00 GiB"
    assert run.promoted is False and run.finished_at is not None


def test_a_half_written_run_with_a_fresh_heartbeat_is_running(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release_of(project, release_dir)
    run = training_register(run_dir=write_run_dir(tmp_path / "run", release_dir, state="running"))
    assert run.status == "running" and run.error == "" and run.finished_at is None
    assert run.metrics["progress"]["step"] == 9 and run.metrics["progress"]["phase"] == "train"


def test_a_half_written_run_whose_heartbeat_stopped_is_failed_with_how_to_resume_it(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release_of(project, release_dir)
    run_dir = write_run_dir(tmp_path / "run", release_dir, state="running", heartbeat_age=timedelta(hours=3))
    (run_dir / "checkpoints" / "checkpoint-8" / "config.yaml").unlink()  # killed while saving step 8
    run = training_register(run_dir=run_dir)
    assert run.status == "failed"
    assert run.error.startswith("no heartbeat for 3 h 0 min (phase train, step 9 of 8, last at ")
    assert "the training process ended without finishing" in run.error
    assert (
        "Its last complete checkpoint is checkpoint-4; continue it with: python -m training sft" in run.error
    )
    assert run.error.endswith(f"--output {run_dir} --resume")


def test_a_half_written_run_whose_process_is_gone_from_this_host_is_failed_at_once(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release_of(project, release_dir)
    run_dir = write_run_dir(tmp_path / "run", release_dir, state="running")
    dead_pid = subprocess.Popen([PY, "-c", "pass"])  # a pid that surely exited
    dead_pid.wait()
    progress = json.loads((run_dir / "progress.json").read_text())
    progress.update(host=socket.gethostname(), pid=dead_pid.pid)
    (run_dir / "progress.json").write_text(json.dumps(progress))
    run = training_register(run_dir=run_dir)
    assert run.status == "failed"
    assert run.error.startswith(f"the training process (pid {dead_pid.pid} on this host) is gone")
    assert "continue it with: python -m training sft" in run.error


def test_a_dead_run_without_a_complete_checkpoint_says_to_start_again(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release_of(project, release_dir)
    run_dir = write_run_dir(
        tmp_path / "run", release_dir, state="running", checkpoints=(), heartbeat_age=timedelta(minutes=30)
    )
    run = training_register(run_dir=run_dir, stale_after=timedelta(minutes=20))
    assert run.status == "failed" and run.error.endswith("It left no complete checkpoint; start it again.")
    assert training_register(run_dir=run_dir, stale_after=timedelta(hours=1)).status == "running"


def test_a_directory_that_is_not_a_run_is_refused_and_says_what_a_run_directory_holds(
    release_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as refused:
        training_register(run_dir=release_dir)  # a release, not a run
    assert refused.value.message == NOT_A_RUN.format(path=release_dir)
    assert "python -m training writes run_manifest.json as soon as a run starts" in refused.value.hint
    with pytest.raises(NotFound, match="is not a directory"):
        training_register(run_dir=tmp_path / "nowhere")
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "run_manifest.json").write_text('{"run_id": "x", "rele')
    with pytest.raises(InvalidInput, match=r"run_manifest.json: not valid JSON \(JSONDecodeError\)"):
        training_register(run_dir=tmp_path / "cut")
    assert TrainingRun.objects.count() == 0


def test_a_run_of_a_release_unknown_here_needs_a_project(project, release_dir: Path, tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path / "run", release_dir)
    with pytest.raises(NotFound, match="release factory-v1 of this run is not known to this service"):
        training_register(run_dir=run_dir)
    run = training_register(run_dir=run_dir, project=project)
    assert run.project == project and run.release is None and run.release_name == "factory-v1"


def test_a_run_is_refused_when_its_release_belongs_elsewhere_or_holds_other_data(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release = release_of(project, release_dir)
    run_dir = write_run_dir(tmp_path / "run", release_dir)
    with pytest.raises(InvalidInput, match="release factory-v1 belongs to project acme, not other"):
        training_register(run_dir=run_dir, project=Project.objects.create(name="other"))
    Release.objects.filter(pk=release.pk).update(manifest_sha256="f" * 64)
    with pytest.raises(
        InvalidInput, match="this service's release factory-v1 has ffffffffffff: not the same"
    ):
        training_register(run_dir=run_dir)


def test_the_command_prints_status_release_eval_loss_and_the_gate_verdict(
    project, release_dir: Path, tmp_path: Path
) -> None:
    release_of(project, release_dir)
    run_dir = write_run_dir(tmp_path / "run", release_dir)
    out = io.StringIO()
    call_command("register_training_run", str(run_dir), stdout=out)
    text = out.getvalue()
    assert text.startswith(f"{run_dir}: succeeded (sft on release factory-v1, project acme)")
    assert "eval loss (test split): base → adapter 2 → 1.5 (-0.5)" in text
    assert "gate: PROMOTED\n  - all 5 gated checks within tolerance against base" in text


def test_the_command_refuses_a_directory_that_is_not_a_run_with_an_exit_code(tmp_path: Path) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("register_training_run", str(tmp_path), stderr=err)
    assert exited.value.code == 65
    assert f"error: {tmp_path} is not a training run directory" in err.getvalue()


def test_the_command_registers_a_run_of_an_external_release_under_the_named_project(
    project, release_dir: Path, tmp_path: Path
) -> None:
    run_dir = write_run_dir(tmp_path / "run", release_dir, state="failed")
    out = io.StringIO()
    call_command("register_training_run", str(run_dir), "--project", "acme", stdout=out)
    assert "failed (sft on release factory-v1, project acme)\nwhy: CUDA out of memory" in out.getvalue()
    assert TrainingRun.objects.get().project == project


# --- launch: configuration and command mode (fast: the commands are tiny Python one-liners) ----------


def test_launching_is_refused_while_training_is_off(project, release_dir: Path, data_dir: Path) -> None:
    policy = policy_of(project, training_mode="off")
    with pytest.raises(ConfigError, match="training is off for project acme"):
        training_launch(release=release_of(project, release_dir), policy=policy)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "train --data {dataset} --out {output}",
            "names an unknown placeholder {dataset}; the placeholders are",
        ),
        ("train {release!r}", "placeholder {release} takes no format or conversion"),
        ("train '{release}", "is not a valid command line (No closing quotation)"),
        ("", "training_command is empty"),
    ],
)
def test_a_bad_command_template_is_a_config_error_and_nothing_starts(
    project, release_dir: Path, data_dir: Path, template: str, message: str
) -> None:
    policy = policy_of(project, training_mode="command", training_command=template)
    with pytest.raises(ConfigError) as refused:
        training_launch(release=release_of(project, release_dir), policy=policy)
    assert message in refused.value.message
    assert TrainingRun.objects.count() == 0 and not (data_dir / "runs").exists()


def test_an_override_the_launch_sets_itself_is_refused(project, release_dir: Path, data_dir: Path) -> None:
    policy = policy_of(project, training_overrides={"output": "/elsewhere"})
    with pytest.raises(ConfigError, match="--output is set by the launch itself"):
        training_launch(release=release_of(project, release_dir), policy=policy)


def test_a_command_that_exits_non_zero_is_a_failed_run_with_its_last_lines(
    project, release_dir: Path, data_dir: Path
) -> None:
    script = (
        "import sys; print('loading {method} on', sys.argv[1]); "
        "print('CUDA out of memory', file=sys.stderr); sys.exit(3)"
    )
    policy = policy_of(project, training_mode="command", training_command=f'{PY} -c "{script}" {{release}}')
    run = training_launch(release=release_of(project, release_dir), policy=policy)
    assert run.status == "failed" and run.promoted is False
    assert run.error.startswith("the training command exited with status 3 (a bad release)")
    assert f"last output:\nloading sft on {release_dir}\nCUDA out of memory" in run.error
    assert run.run_dir == str((data_dir / "runs" / "factory-v1-sft").resolve())
    assert "CUDA out of memory" in (Path(run.run_dir) / "launch.log").read_text()


def test_a_command_that_never_finishes_is_stopped_at_the_timeout_with_its_whole_process_group(
    project, release_dir: Path, data_dir: Path
) -> None:
    # The command starts a child of its own, as a wrapper script would, and both hang.
    script = (
        "import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', 'import time; "
        "time.sleep(600)']); print('child', child.pid, flush=True); time.sleep(600)"
    )
    policy = policy_of(project, training_mode="command", training_command=f'{PY} -c "{script}"')
    run = training_launch(release=release_of(project, release_dir), policy=policy, timeout_seconds=2)
    assert run.status == "failed"
    assert run.error.startswith("training did not finish within 2 s (training_mode command); it was stopped.")
    child = int(run.error.split("child ")[1].split()[0])
    for _ in range(100):  # the group got SIGTERM; give the kernel a moment to reap the child
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the command's child {child} outlived the timeout")


def test_a_submitted_job_whose_run_never_appears_fails_at_the_timeout(
    project, release_dir: Path, data_dir: Path
) -> None:
    policy = policy_of(
        project, training_mode="command", training_command=f"{PY} -c \"print('submitted job 17')\""
    )
    run = training_launch(
        release=release_of(project, release_dir), policy=policy, timeout_seconds=1, poll_seconds=0.1
    )
    assert run.status == "failed"
    assert run.error.startswith("the training command returned, but no finished run appeared in ")
    assert "the training host never answered, or is still busy" in run.error
    assert "last output:\nsubmitted job 17" in run.error


def test_a_command_that_cannot_start_is_a_failed_run(project, release_dir: Path, data_dir: Path) -> None:
    policy = policy_of(project, training_mode="command", training_command="/no/such/trainer {release}")
    run = training_launch(release=release_of(project, release_dir), policy=policy)
    assert run.status == "failed"
    assert run.error.startswith("the training command could not be started: /no/such/trainer: No such file")


def test_a_run_that_already_finished_is_registered_not_trained_again(
    project, release_dir: Path, data_dir: Path
) -> None:
    release = release_of(project, release_dir)
    write_run_dir(data_dir / "runs" / "factory-v1-sft", release_dir)
    policy = policy_of(project, training_mode="command", training_command=f"{PY} -c 'raise SystemExit(1)'")
    run = training_launch(release=release, policy=policy)
    assert run.status == "succeeded" and run.promoted is True
    assert not (data_dir / "runs" / "factory-v1-sft" / "launch.log").exists()  # nothing was started


def test_an_output_directory_holding_a_run_of_another_release_is_refused(
    project, release_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    other = write_release(tmp_path / "other-release", release_id="other-v1")
    write_run_dir(data_dir / "runs" / "factory-v1-sft", other, state="running")
    with pytest.raises(ConfigError, match="holds a run of release other-v1; it cannot continue as a run of"):
        training_launch(release=release_of(project, release_dir), policy=policy_of(project))


def test_a_launch_while_an_earlier_attempt_still_runs_is_a_conflict(
    project, release_dir: Path, data_dir: Path
) -> None:
    write_run_dir(data_dir / "runs" / "factory-v1-sft", release_dir, state="running")  # another host, alive
    with pytest.raises(Conflict, match=r"a training run is still running in .*phase train, step 9 of 8"):
        training_launch(release=release_of(project, release_dir), policy=policy_of(project))
    assert TrainingRun.objects.count() == 0


# --- launch: real training (slow) -----------------------------------------------------------------


@pytest.mark.slow
def test_an_in_process_launch_trains_the_tiny_model_and_records_the_run(
    project, release_dir: Path, tiny_model: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = policy_of(project, training_overrides={"base_model": str(tiny_model), **TINY_STEPS})
    with caplog.at_level("INFO", logger="flywheel.training"):
        run = training_launch(release=release_of(project, release_dir), policy=policy)
    assert run.status == "succeeded", run.error
    assert run.metrics["train"]["steps"] == 2 and run.metrics["adapter"]["loss_rows"] == 40
    assert run.gate["reasons"] and run.promoted == run.metrics["promoted"]
    assert (
        run.manifest["argv"][:2] == ["sft", "--release"]
        and f"--base_model={tiny_model}" in run.manifest["argv"]
    )
    assert (Path(run.run_dir) / "adapter" / "adapter_config.json").is_file()
    assert any(r.getMessage().startswith("[training] ") for r in caplog.records)  # the output streamed
    assert "promoted" in (Path(run.run_dir) / "launch.log").read_text()


@pytest.mark.slow
def test_a_command_template_running_python_m_training_is_waited_for_and_registered(
    project, release_dir: Path, tiny_model: Path, data_dir: Path
) -> None:
    template = (
        f"{PY} -m training {{method}} --release {{release}} --config {{config}} {{overrides}} "
        "--output {output} {resume}"
    )
    policy = policy_of(
        project,
        training_mode="command",
        training_method="dpo",
        training_command=template,
        training_overrides={"base_model": str(tiny_model), **TINY_STEPS},
    )
    run = training_launch(release=release_of(project, release_dir), policy=policy)
    assert run.status == "succeeded", run.error
    assert run.method == "dpo" and 0 <= run.metrics["adapter"]["preference_accuracy"] <= 1
    assert run.run_dir.endswith("factory-v1-dpo")


@pytest.mark.slow
def test_a_launch_after_a_crashed_attempt_resumes_from_its_checkpoint(
    project, release_dir: Path, tiny_model: Path, data_dir: Path
) -> None:
    out = data_dir / "runs" / "factory-v1-sft"
    overrides = {"base_model": str(tiny_model), **TINY_STEPS, "max_steps": 4, "eval_steps": 4}
    overrides["early_stopping_patience"] = 0  # eval only at the end; a checkpoint every step
    options = [f"--{k}={v}" for k, v in overrides.items()]
    command = [PY, "-m", "training", "sft", "--release", str(release_dir), "--config", str(TINY_CONFIG),
               *options, "--output", str(out)]  # fmt: skip
    with (data_dir.parent / "first.log").open("w") as log:
        first = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while not (out / "checkpoints" / "checkpoint-2" / "config.yaml").exists():
            assert first.poll() is None, (data_dir.parent / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)  # the nightly's host went down mid-training
        first.wait(timeout=30)
    assert not (out / "metrics.json").exists()

    run = training_launch(
        release=release_of(project, release_dir), policy=policy_of(project, training_overrides=overrides)
    )
    assert run.status == "succeeded", run.error
    assert run.manifest["argv"][-1] == "--resume"
    assert run.metrics["train"]["resumed_from"].endswith("checkpoint-2")
    assert run.metrics["train"]["steps"] == 4


# --- pages and API --------------------------------------------------------------------------------


@pytest.fixture
def runs(project, release_dir: Path, tmp_path: Path):
    release_of(project, release_dir)
    good = training_register(run_dir=write_run_dir(tmp_path / "good", release_dir))
    worse = training_register(run_dir=write_run_dir(tmp_path / "worse", release_dir, adapter_better=False))
    failed = training_register(run_dir=write_run_dir(tmp_path / "failed", release_dir, state="failed"))
    lead = Client()
    lead.force_login(member(project, Role.LEAD, password=None))
    return {"good": good, "worse": worse, "failed": failed, "client": lead}


def test_the_runs_page_lists_release_method_status_verdict_and_base_to_adapter_headline(
    project, runs
) -> None:
    html = runs["client"].get(f"/projects/{project.pk}/training-runs/").content.decode()
    assert html.count("factory-v1") >= 3 and ">sft<" in html
    assert 'class="status-succeeded"' in html and "status-failed" in html
    assert '<span class="why muted" title="CUDA out of memory. Tried to allocate 2.00 GiB">' in html
    assert '<span class="verdict yes">yes</span>' in html and '<span class="verdict no">no</span>' in html
    assert "<th>eval_loss</th>" in html and "<th>json_valid_rate</th>" in html
    assert "2 → <b>1.5</b> <small>(-0.5)</small>" in html  # eval loss improved
    assert "0 → <b>1</b> <small>(+1)</small>" in html  # JSON validity, the good run
    assert 'chg chg-worse" title="base → adapter (n=10)">1 → <b>0</b>' in html  # the regressing run


def test_the_run_page_shows_config_gate_breakdowns_curve_report_and_artifacts(project, runs) -> None:
    run = runs["worse"]
    html = runs["client"].get(f"/projects/{project.pk}/training-runs/{run.pk}/").content.decode()
    assert "NOT PROMOTED" in html and "json_valid_rate fell from 1 (base) to 0" in html
    assert "<td>fail</td>" not in html and 'class="status-failed">fail</td>' in html
    for dimension in ("cluster", "task_type", "source", "difficulty"):
        assert f"<h2>By {dimension}</h2>" in html
    assert 'class="regressed"' in html and "⚠ json_valid_rate" in html
    assert "- → -" not in html.split("<h2>Report</h2>")[0]  # a slice without rows: a dash, not a change
    assert f'src="/projects/{project.pk}/training-runs/{run.pk}/files/loss_curve.png"' in html
    assert "learning_rate: 0.002" in html  # the resolved config
    assert "# Training run worse" in html and "## Verdict: NOT PROMOTED" in html  # report.md as text
    assert f"{run.run_dir}/adapter" in html  # where the artifacts are


def test_the_run_page_of_a_failed_run_says_what_went_wrong(project, runs) -> None:
    run = runs["failed"]
    html = runs["client"].get(f"/projects/{project.pk}/training-runs/{run.pk}/").content.decode()
    assert '<pre class="error">CUDA out of memory' in html and "no verdict (failed)" in html


def test_the_loss_curve_is_served_from_the_run_directory(project, runs) -> None:
    run = runs["good"]
    response = runs["client"].get(f"/projects/{project.pk}/training-runs/{run.pk}/files/loss_curve.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    report = runs["client"].get(f"/projects/{project.pk}/training-runs/{run.pk}/files/report.md")
    assert report["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    "name", ["..%2F..%2Fetc%2Fpasswd", "adapter%2Fadapter_config.json", "launch.log", "checkpoints", "x.png"]
)
def test_only_the_run_files_inside_the_run_directory_are_served(project, runs, name: str) -> None:
    run = runs["good"]
    response = runs["client"].get(f"/projects/{project.pk}/training-runs/{run.pk}/files/{name}")
    assert response.status_code == 404


def test_a_run_file_that_links_out_of_the_run_directory_is_not_served(project, runs, tmp_path: Path) -> None:
    run = runs["good"]
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    curve = Path(run.run_dir) / "loss_curve.png"
    curve.unlink()
    curve.symlink_to(secret)
    response = runs["client"].get(f"/projects/{project.pk}/training-runs/{run.pk}/files/loss_curve.png")
    assert response.status_code == 404


def test_a_run_of_another_project_is_not_found_under_this_one(project, runs) -> None:
    other = Project.objects.create(name="elsewhere")
    client = Client()
    client.force_login(member(other, Role.LEAD, password=None))
    run = runs["good"]
    assert client.get(f"/projects/{other.pk}/training-runs/{run.pk}/").status_code == 404
    assert client.get(f"/api/projects/{other.pk}/training-runs/{run.pk}/").status_code == 404


def test_the_api_lists_runs_with_headline_and_gives_the_full_record(project, runs) -> None:
    listing = runs["client"].get(f"/api/projects/{project.pk}/training-runs/").json()
    assert listing["count"] == 3
    row = next(r for r in listing["results"] if r["id"] == runs["good"].pk)
    assert row["release_id"] == "factory-v1" and row["status"] == "succeeded" and row["promoted"] is True
    loss = next(c for c in row["headline"] if c["metric"] == "eval_loss")
    assert (loss["base"], loss["adapter"], loss["delta"], loss["better"]) == (2.0, 1.5, -0.5, True)
    assert row["reasons"][0].startswith("all ") and "metrics" not in row
    detail = runs["client"].get(f"/api/projects/{project.pk}/training-runs/{runs['good'].pk}/").json()
    assert set(detail["metrics"]["slices"]) == {"cluster", "task_type", "source", "difficulty"}
    assert detail["config"]["lora"]["lora_rank"] == 4 and detail["gate"]["checks"]


#                 anonymous, outsider, annotator, lead, admin
MATRIX = {
    "list page": (302, 404, 404, 200, 200),
    "run page": (302, 404, 404, 200, 200),
    "run file": (302, 404, 404, 200, 200),
    "api list": (403, 404, 403, 200, 200),
    "api run": (403, 404, 403, 200, 200),
}
PATHS = {
    "list page": "/projects/{p}/training-runs/",
    "run page": "/projects/{p}/training-runs/{r}/",
    "run file": "/projects/{p}/training-runs/{r}/files/loss_curve.png",
    "api list": "/api/projects/{p}/training-runs/",
    "api run": "/api/projects/{p}/training-runs/{r}/",
}
WHO = ("anonymous", "outsider", "annotator", "lead", "admin")


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_role_gets_exactly_the_access_the_matrix_says(project, runs, endpoint: str) -> None:
    # password=None: these users log in with force_login; skipping the password hash keeps the table fast.
    users = {
        "anonymous": None,
        "outsider": member(ProjectFactory(), Role.ANNOTATOR),
        "annotator": member(project, Role.ANNOTATOR, password=None),
        "lead": member(project, Role.LEAD, password=None),
        "admin": UserFactory(is_superuser=True, is_staff=True, password=None),
    }
    path = PATHS[endpoint].format(p=project.pk, r=runs["good"].pk)
    got = []
    for who in WHO:
        client = Client()
        if users[who] is not None:
            client.force_login(users[who])
        got.append(client.get(path).status_code)
    assert tuple(got) == MATRIX[endpoint], f"{endpoint}: {dict(zip(WHO, got, strict=True))}"
