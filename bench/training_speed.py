"""Time per training step: our wrapper (``training.runner``) vs a bare TRL SFT script, same tiny setup.

    .venv/bin/python bench/training_speed.py [--steps 60] [--warmup 5] [--runs 3] [--threads 1]

Both sides train the same tiny Qwen2 (built in a temp dir, nothing downloaded) with LoRA on the same
factory release (no over-long rows, so our trimming changes nothing), with the same SFT arguments:
batch, gradient accumulation, learning-rate schedule, max_length, logging, seed, no evaluation or
checkpoint inside the timed window. A callback records the wall time between consecutive optimizer
steps (so data loading, callbacks and logging count); the first ``--warmup`` steps are dropped. Runs
alternate ours/bare to share any drift of a busy host. Printed: median ms/step of each, overhead %.
Our side adds: its TensorBoard writer, the config-beside-checkpoint callback, early stopping, and
the data preparation before training (not in the per-step time; printed separately).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the benches never download anything
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TINY_CONFIG = ROOT / "training" / "configs" / "tiny-cpu.yaml"


def step_timer() -> Any:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.ends: list[float] = []
            self.began = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

        def per_step(self, warmup: int) -> list[float]:
            times = [self.began, *self.ends]
            return [b - a for a, b in zip(times[warmup:], times[warmup + 1 :], strict=False)]

    return StepTimer()


def run_ours(model: Path, release: Path, out: Path, steps: int, timer: Any) -> float:
    """Returns the seconds spent before training (release check, tokenizer, data preparation)."""
    from training.runner import RunArgs, run

    overrides = {
        "base_model": str(model),
        "max_steps": str(steps),
        "eval_steps": str(steps * 10),  # evaluation and checkpoints stay out of the timed window
        "save_steps": str(steps * 10),
        "eval_generate_rows": "1",
        "eval_loss_rows": "4",
    }
    began = time.perf_counter()
    args = RunArgs(method="sft", release=release, config_path=TINY_CONFIG, overrides=overrides, output=out)
    run(args, extra_callbacks=[timer])
    return timer.began - began


def run_bare(model_dir: Path, release: Path, out: Path, steps: int, timer: Any) -> None:
    """What a plain TRL script does with the same knobs (compare TRL's scripts/sft.py)."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from training.config import config_load

    config = config_load(TINY_CONFIG)

    def rows(split: str) -> Dataset:
        lines = (release / "sft" / f"{split}.jsonl").read_text().splitlines()
        messages = [json.loads(line)["messages"] for line in lines]
        return Dataset.from_list([{"prompt": m[:-1], "completion": m[-1:]} for m in messages])

    t = config.train
    args = SFTConfig(
        output_dir=str(out),
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler_type,
        warmup_steps=t.warmup_ratio,
        per_device_train_batch_size=t.per_device_batch_size,
        per_device_eval_batch_size=t.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps(),
        max_steps=steps,
        logging_steps=t.logging_steps,
        eval_strategy="steps",
        eval_steps=steps * 10,
        save_strategy="steps",
        save_steps=steps * 10,
        max_length=config.data.max_length,
        completion_only_loss=True,
        seed=t.seed,
        data_seed=t.seed,  # same batches as ours, so the same padding per step
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=args,
        train_dataset=rows("train"),
        eval_dataset=rows("val"),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        peft_config=LoraConfig(
            r=config.lora.lora_rank,
            lora_alpha=config.lora.lora_alpha or 2 * config.lora.lora_rank,
            lora_dropout=config.lora.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
        callbacks=[timer],
    )
    trainer.train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="Optimizer steps per run.")
    parser.add_argument("--warmup", type=int, default=5, help="First steps left out of the timing.")
    parser.add_argument("--runs", type=int, default=5, help="Runs per side, alternating.")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 suits the tiny model).")
    parser.add_argument("--rows", type=int, default=160, help="Rows per split of the factory release.")
    opts = parser.parse_args()

    import logging

    import datasets
    import torch
    import transformers

    torch.set_num_threads(opts.threads)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    logging.disable(logging.WARNING)

    from tests.training.release_factory import write_release
    from training.tiny import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="flywheel-bench-training-") as tmp:
        tmp_path = Path(tmp)
        model = build_tiny_model(tmp_path / "model")
        release = write_release(tmp_path / "release", rows_per_split=opts.rows, long_rows=False)
        ours: list[float] = []
        bare: list[float] = []
        prep: list[float] = []
        for i in range(opts.runs):
            timer = step_timer()
            prep.append(run_ours(model, release, tmp_path / f"ours-{i}", opts.steps, timer))
            ours.append(statistics.median(timer.per_step(opts.warmup)))
            timer = step_timer()
            run_bare(model, release, tmp_path / f"bare-{i}", opts.steps, timer)
            bare.append(statistics.median(timer.per_step(opts.warmup)))

    print(
        f"tiny Qwen2 + LoRA r4, batch 4 x accumulation 2, {opts.steps} steps/run "
        f"({opts.warmup} warm-up left out), {opts.runs} runs/side, torch threads {opts.threads}"
    )
    for name, times in (("ours (training.runner)", ours), ("bare (TRL SFTTrainer)", bare)):
        median_ms, best_ms = statistics.median(times) * 1000, min(times) * 1000
        runs = ", ".join(f"{x * 1000:.2f}" for x in times)
        print(f"{name:24} median {median_ms:7.2f}  best {best_ms:7.2f} ms/step  (per-run medians: {runs})")
    for label, pick in (("median of runs", statistics.median), ("best run", min)):
        print(f"overhead, {label}: {100 * (pick(ours) - pick(bare)) / pick(bare):+.1f} % per step")
    print(
        f"ours, before training (release check + tokenizer + trimming): {statistics.median(prep):.2f} s/run"
    )


if __name__ == "__main__":
    main()
