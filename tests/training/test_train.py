"""A tiny model really trains (SFT and DPO with LoRA) from a factory release; the run records everything."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.training.conftest import train_args
from training.config import config_load


def metrics_of(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def test_an_sft_run_writes_adapter_merged_model_records_and_curves(sft_run: Path) -> None:
    expected = [
        *(
            "adapter/adapter_config.json",
            "adapter/adapter_model.safetensors",
            "adapter/tokenizer_config.json",
        ),
        *("merged/config.json", "merged/model.safetensors", "merged/tokenizer.json"),
        *("metrics.json", "report.md", "loss_curve.png", "run_manifest.json", "config.yaml"),
    ]
    for name in expected:
        assert (sft_run / name).is_file(), name
    assert (sft_run / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_json_has_the_documented_shape(sft_run: Path) -> None:
    metrics = metrics_of(sft_run)
    assert {"promoted", "gate", "base", "adapter", "slices", "train", "test"} <= set(metrics)
    assert isinstance(metrics["promoted"], bool)
    assert set(metrics["gate"]) == {"checks", "reasons"} and metrics["gate"]["reasons"]
    for side in ("base", "adapter"):
        assert metrics[side]["eval_loss"] > 0 and metrics[side]["perplexity"] > 1
        assert metrics[side]["loss_rows"] == 40 and metrics[side]["generated_rows"] == 8
    assert set(metrics["slices"]) == {"cluster", "task_type", "source", "difficulty"}
    assert set(metrics["slices"]["task_type"]) == {"extract", "summarise", "pii_request", "policy_question"}
    train = metrics["train"]
    assert train["steps"] == train["planned_steps"] == 8
    assert (train["trimmed_context"], train["dropped_too_long"], train["rows"]) == (1, 1, 41)
    assert train["gradient_accumulation_steps"] == 2 and train["effective_batch_size"] == 8
    assert train["epochs"] > 1


def test_the_adapter_learned_something_on_the_test_split(sft_run: Path) -> None:
    metrics = metrics_of(sft_run)
    assert metrics["adapter"]["eval_loss"] < metrics["base"]["eval_loss"]


def test_the_run_manifest_pins_config_data_code_packages_seed_and_hardware(
    sft_run: Path, release_dir: Path
) -> None:
    manifest = json.loads((sft_run / "run_manifest.json").read_text())
    assert manifest["release"]["release_id"] == "factory-v1"
    assert (
        manifest["release"]["manifest_sha256"]
        == hashlib.sha256((release_dir / "manifest.json").read_bytes()).hexdigest()
    )
    assert manifest["config"]["lora"]["lora_alpha"] == 8  # resolved: 2 x rank 4
    assert manifest["seed"] == 7
    assert manifest["code_version"]
    assert manifest["packages"]["trl"] and manifest["packages"]["peft"] and manifest["packages"]["torch"]
    assert manifest["hardware"]["world_size"] == 1 and "cpu_count" in manifest["hardware"]
    assert manifest["promoted"] == metrics_of(sft_run)["promoted"]
    assert config_load(sft_run / "config.yaml").to_dict() == manifest["config"]


def test_every_checkpoint_carries_the_full_config(sft_run: Path) -> None:
    checkpoints = sorted((sft_run / "checkpoints").glob("checkpoint-*"))
    assert [c.name for c in checkpoints] == ["checkpoint-4", "checkpoint-8"]
    for checkpoint in checkpoints:
        assert (checkpoint / "config.yaml").read_text() == (sft_run / "config.yaml").read_text()


def test_training_curves_go_to_tensorboard(sft_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(sft_run / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/learning_rate", "train/grad_norm", "eval/loss"} <= tags


def test_the_report_gives_the_verdict_the_tables_and_the_curves(sft_run: Path) -> None:
    report = (sft_run / "report.md").read_text()
    verdict = "PROMOTED" if metrics_of(sft_run)["promoted"] else "NOT PROMOTED"
    assert f"## Verdict: {verdict}" in report
    assert "| metric | base | adapter | Δ vs base |" in report
    assert "### by cluster" in report and "### by difficulty" in report
    assert "1 with context trimmed, 1 dropped as longer than max_length" in report
    assert "![training curves](loss_curve.png)" in report


def test_the_adapter_loads_on_the_base_model_and_generates(sft_run: Path, tiny_model: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(sft_run / "adapter")
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), sft_run / "adapter")
    prompt: Any = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Where is my order?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]


def test_the_merged_model_reloads_with_the_same_logits_as_base_plus_adapter(
    sft_run: Path, tiny_model: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([[1, 40, 41, 42, 43, 2, 201, 1, 50, 60]])
    with torch.no_grad():
        adapted = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model), sft_run / "adapter"
        )
        merged = AutoModelForCausalLM.from_pretrained(sft_run / "merged")
        base = AutoModelForCausalLM.from_pretrained(tiny_model)
        expected, got, untouched = adapted(ids).logits, merged(ids).logits, base(ids).logits
    assert torch.allclose(expected, got, atol=1e-5)
    assert not torch.allclose(untouched, got, atol=1e-5)  # the merge did change the weights


def test_a_dpo_run_trains_and_is_gated_against_the_base_and_a_baseline_adapter(dpo_run: Path) -> None:
    metrics = metrics_of(dpo_run)
    assert metrics["train"]["steps"] == metrics["train"]["planned_steps"] == 8
    for side in ("base", "adapter", "baseline"):
        assert 0 <= metrics[side]["preference_accuracy"] <= 1
    against = {check["against"] for check in metrics["gate"]["checks"]}
    assert against == {"base", "baseline"}
    assert (dpo_run / "adapter" / "adapter_config.json").is_file()
    assert (
        "| metric | base | adapter | Δ vs base | baseline | Δ vs baseline |"
        in (dpo_run / "report.md").read_text()
    )


def test_a_second_run_into_a_used_directory_needs_resume(
    sft_run: Path, release_dir: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    assert main(train_args("sft", release_dir, tiny_model, sft_run)) == 2
    assert "already holds checkpoints; add --resume" in capsys.readouterr().err


def test_a_tokenizer_without_a_chat_template_gets_the_configured_one(
    release_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    from training.cli import main
    from training.tiny import build_tiny_model

    base = build_tiny_model(tmp_path / "base-model", chat=False)
    assert not AutoTokenizer.from_pretrained(base).chat_template
    args = train_args("sft", release_dir, base, tmp_path / "run", "--max_steps=2", "--eval_generate_rows=2")
    assert main(args) == 0
    notes = metrics_of(tmp_path / "run")["train"]["notes"]
    assert any("no chat template" in note for note in notes)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "run" / "adapter")
    assert "<|im_start|>" in tokenizer.chat_template
    assert (
        len(tokenizer("<|im_end|>", add_special_tokens=False)["input_ids"]) == 1
    )  # a real token, not pieces


def test_a_finished_run_says_so_in_its_manifest_and_heartbeat(sft_run: Path) -> None:
    manifest = json.loads((sft_run / "run_manifest.json").read_text())
    progress = json.loads((sft_run / "progress.json").read_text())
    assert manifest["status"] == "finished" and "error" not in manifest
    assert manifest["outputs"]["metrics"] == str(sft_run / "metrics.json")
    assert manifest["outputs"]["loss_curve"] == str(sft_run / "loss_curve.png")
    assert progress["phase"] == "finished" and progress["step"] == progress["planned_steps"] == 8
    assert progress["updated_at"] >= manifest["finished_at"][:19]


def test_a_run_that_fails_after_it_started_records_the_error_in_its_manifest(
    release_dir: Path, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    out = tmp_path / "run"
    assert main(train_args("sft", release_dir, tiny_model, out, "--max_length=9")) == 1
    assert "every train row is longer than max_length 9" in capsys.readouterr().err
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == "every train row is longer than max_length 9; raise it"
    assert manifest["failed_at"] >= manifest["started_at"]
    assert json.loads((out / "progress.json").read_text())["phase"] == "failed"
    assert not (out / "metrics.json").exists()
