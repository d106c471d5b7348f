"""The launch core without a database: command templates, options, the child's environment, supervision."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from flywheel.errors import ConfigError
from flywheel.training_runs.launcher import (
    child_env,
    command_fill,
    exit_meaning,
    override_options,
    process_supervise,
    run_dir_wait,
    training_argv,
)

VALUES = {"release": "/data/releases/acme v3", "output": "/runs/o", "config": "c.yaml", "method": "sft"}


def test_a_placeholder_value_with_spaces_or_quotes_stays_one_argument() -> None:
    argv = command_fill(
        "ssh gpu1 train {method} --release {release} --output {output} --config {config}",
        {**VALUES, "config": "it's.yaml"},
    )
    assert argv == [
        "ssh", "gpu1", "train", "sft", "--release", "/data/releases/acme v3", "--output", "/runs/o",
        "--config", "it's.yaml",
    ]  # fmt: skip


def test_a_value_cannot_smuggle_in_another_command() -> None:
    argv = command_fill("train --release {release}", {**VALUES, "release": "x; rm -rf / #"})
    assert argv == ["train", "--release", "x; rm -rf / #"]


def test_overrides_expand_to_several_arguments_and_an_empty_resume_to_none() -> None:
    template = "train {overrides} --output {output} {resume}"
    fill = {**VALUES, "overrides": ["--base_model=/m 1", "--lora_rank=8"]}
    assert command_fill(template, {**fill, "resume": []}) == [
        "train", "--base_model=/m 1", "--lora_rank=8", "--output", "/runs/o",
    ]  # fmt: skip
    assert command_fill(template, {**fill, "resume": ["--resume"]})[-1] == "--resume"


def test_literal_braces_survive_and_an_unknown_placeholder_is_named() -> None:
    assert command_fill("echo {{not a placeholder}} {method}", VALUES) == [
        "echo",
        "{not",
        "a",
        "placeholder}",
        "sft",
    ]
    with pytest.raises(ConfigError, match=r"unknown placeholder \{gpu\}; the placeholders are \{release\}, "):
        command_fill("train --gpus {gpu}", VALUES)
    with pytest.raises(ConfigError, match=r"unknown placeholder \{\}"):
        command_fill("train {}", VALUES)


def test_override_values_are_written_the_way_the_training_cli_reads_them() -> None:
    options = override_options(
        {"base_model": "/models/q", "learning_rate": 1e-4, "target_modules": ["q_proj", "v_proj"],
         "lora_alpha": None, "bf16": False, "merge": True}
    )  # fmt: skip
    assert options == [
        "--base_model=/models/q", "--learning_rate=0.0001", '--target_modules=["q_proj", "v_proj"]',
        "--lora_alpha=null", "--bf16=false", "--merge",
    ]  # fmt: skip
    assert override_options({"merge": False}) == []


@pytest.mark.parametrize("key", ["output", "release", "resume", "config", "--lr", "a b", ""])
def test_an_override_that_is_no_config_field_name_or_one_the_launch_sets_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match="training_overrides"):
        override_options({key: "x"})


def test_the_in_process_command_is_this_python_running_the_training_module() -> None:
    argv = training_argv(
        python=sys.executable, method="dpo", release="/r", config="/c.yaml", output="/o",
        overrides={"max_steps": 2}, resume=True,
    )  # fmt: skip
    assert argv == [
        sys.executable, "-m", "training", "dpo", "--release", "/r", "--config", "/c.yaml", "--max_steps=2",
        "--output", "/o", "--resume",
    ]  # fmt: skip


def test_the_training_process_gets_no_service_secrets() -> None:
    env = child_env(
        {"PATH": "/bin", "HF_HOME": "/hf", "SECRET_KEY": "s", "DATABASE_URL": "postgres://u:p@h/db",
         "PII_HASH_KEY": "k", "LANGFUSE_SECRET_KEY": "sk-lf", "LANGFUSE_PUBLIC_KEY": "pk-lf"}
    )  # fmt: skip
    assert {"PATH", "HF_HOME", "PYTHONUNBUFFERED"} <= set(env)
    assert not {
        "SECRET_KEY",
        "DATABASE_URL",
        "PII_HASH_KEY",
        "LANGFUSE_SECRET_KEY",
        "LANGFUSE_PUBLIC_KEY",
    } & set(env)


def test_exit_codes_are_explained_the_way_training_uses_them() -> None:
    assert exit_meaning(3) == "a bad release" and exit_meaning(2) == "a bad config or option"
    assert exit_meaning(-9) == "killed by SIGKILL" and exit_meaning(143) == "stopped by SIGTERM"


def test_a_chatty_process_keeps_only_its_last_lines_and_streams_every_one(tmp_path: Path) -> None:
    seen: list[str] = []
    outcome = process_supervise(
        [sys.executable, "-c", "import sys\nfor i in range(500): print('line', i)\nsys.exit(2)"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        on_line=seen.append,
        tail_lines=3,
    )
    assert (outcome.returncode, outcome.timed_out) == (2, False)
    assert outcome.tail == ("line 497", "line 498", "line 499") and len(seen) == 500


def test_waiting_for_a_run_ends_when_it_finishes_fails_or_the_deadline_passes(tmp_path: Path) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert run_dir_wait(tmp_path, deadline=30.0, poll=10.0, clock=lambda: now[0], sleep=sleep) is False
    assert now[0] == 30.0
    (tmp_path / "run_manifest.json").write_text(json.dumps({"status": "failed", "error": "OOM"}))
    assert run_dir_wait(tmp_path, deadline=0.0, poll=1.0, clock=lambda: 99.0, sleep=sleep) is True
    (tmp_path / "run_manifest.json").write_text(json.dumps({"status": "running"}))
    (tmp_path / "metrics.json").write_text("{}")
    assert run_dir_wait(tmp_path, deadline=0.0, poll=1.0, clock=lambda: 99.0, sleep=sleep) is True
