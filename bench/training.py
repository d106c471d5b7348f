"""Time per training step, SFT and DPO: our wrapper (``training.runner``) vs a bare TRL script, same setup.

    .venv/bin/python bench/training.py [--method sft|dpo|both] [--steps 60] [--warmup 5] [--runs 5]

Both sides train the same tiny Qwen2 (built in a temp dir, nothing downloaded) with LoRA on the same
factory release (no over-long rows, so our trimming changes nothing), with the same TRL arguments:
batch, gradient accumulation, learning-rate schedule, max_length, logging, seed (and beta for DPO),
no evaluation or checkpoint inside the timed window. A callback records the wall time between
consecutive optimizer steps (so data loading, callbacks and logging count); the first ``--warmup``
steps are dropped. Runs alternate ours/bare (and which goes first) to share any drift of a busy
host. Printed per method: median ms/step of each, overhead %. Our side adds: its TensorBoard
writer, the config-beside-checkpoint callback, early stopping, the heartbeat (progress.json, a
thread and a write per log), and the data preparation before training (not in the per-step time;
printed separately).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
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


def run_ours(method: str, model: Path, release: Path, out: Path, steps: int, timer: Any) -> float:
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
    args = RunArgs(method=method, release=release, config_path=TINY_CONFIG, overrides=overrides, output=out)
    run(args, extra_callbacks=[timer])
    return timer.began - began


def run_bare(method: str, model_dir: Path, release: Path, out: Path, steps: int, timer: Any) -> None:
    """What a plain TRL script does with the same knobs (compare TRL's scripts/sft.py and dpo.py)."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    from training.config import config_load

    config = config_load(TINY_CONFIG)

    def rows(split: str) -> Dataset:
        lines = [line for line in (release / method / f"{split}.jsonl").read_text().split("\n") if line]
        if method == "dpo":
            return Dataset.from_list(
                [{k: row[k] for k in ("prompt", "chosen", "rejected")} for row in map(json.loads, lines)]
            )
        messages = [json.loads(line)["messages"] for line in lines]
        return Dataset.from_list([{"prompt": m[:-1], "completion": m[-1:]} for m in messages])

    t = config.train
    common: dict[str, Any] = dict(
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
        seed=t.seed,
        data_seed=t.seed,  # same batches as ours, so the same padding per step
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        report_to="none",
        disable_tqdm=True,
    )
    peft_config = LoraConfig(
        r=config.lora.lora_rank,
        lora_alpha=config.lora.lora_alpha or 2 * config.lora.lora_rank,
        lora_dropout=config.lora.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    trainer: Any
    if method == "dpo":
        trainer = DPOTrainer(
            model=model, ref_model=None, args=DPOConfig(**common, beta=t.beta),
            train_dataset=rows("train"), eval_dataset=rows("val"), processing_class=tokenizer,
            peft_config=peft_config, callbacks=[timer],
        )  # fmt: skip
    else:
        trainer = SFTTrainer(
            model=model, args=SFTConfig(**common, completion_only_loss=True),
            train_dataset=rows("train"), eval_dataset=rows("val"), processing_class=tokenizer,
            peft_config=peft_config, callbacks=[timer],
        )  # fmt: skip
    trainer.train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=("sft", "dpo", "both"), default="both")
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

    methods = ("sft", "dpo") if opts.method == "both" else (opts.method,)
    print(
        f"tiny Qwen2 + LoRA r4, batch 4 x accumulation 2, {opts.steps} steps/run "
        f"({opts.warmup} warm-up left out), {opts.runs} runs/side, torch threads {opts.threads}"
    )
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-training-") as tmp:
        tmp_path = Path(tmp)
        model = build_tiny_model(tmp_path / "model")
        release = write_release(tmp_path / "release", rows_per_split=opts.rows, long_rows=False)
        for method in methods:
            ours: list[float] = []
            bare: list[float] = []
            prep: list[float] = []
            steps: dict[str, list[float]] = {"ours": [], "bare": []}
            for i in range(opts.runs):
                # Who goes first alternates, and the previous run's garbage is collected before each
                # one starts: otherwise the second side of a pair pays for the first side's teardown.
                for side in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
                    gc.collect()
                    timer = step_timer()
                    out = tmp_path / f"{method}-{side}-{i}"
                    # The trainers print every log line; both sides alike, so silence them alike.
                    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                        if side == "ours":
                            prep.append(run_ours(method, model, release, out, opts.steps, timer))
                        else:
                            run_bare(method, model, release, out, opts.steps, timer)
                    (ours if side == "ours" else bare).append(statistics.median(timer.per_step(opts.warmup)))
                    steps[side] += timer.per_step(opts.warmup)
            report(method, ours, bare, prep, steps)


def report(
    method: str, ours: list[float], bare: list[float], prep: list[float], steps: dict[str, list[float]]
) -> None:
    trainer = "SFTTrainer" if method == "sft" else "DPOTrainer"
    print(f"\n{method.upper()}")
    for name, times in (("ours (training.runner)", ours), (f"bare (TRL {trainer})", bare)):
        median_ms, best_ms = statistics.median(times) * 1000, min(times) * 1000
        runs = ", ".join(f"{x * 1000:.2f}" for x in times)
        print(f"{name:24} median {median_ms:7.2f}  best {best_ms:7.2f} ms/step  (per-run medians: {runs})")
    for label, pick in (("median of runs", statistics.median), ("best run", min)):
        print(f"overhead, {label}: {100 * (pick(ours) - pick(bare)) / pick(bare):+.1f} % per step")
    # On a shared host other jobs stretch some steps; the fastest quarter of all steps is what the
    # code itself costs, and is the steadiest number to compare.
    q1 = {side: statistics.quantiles(times, n=4)[0] for side, times in steps.items()}
    print(
        f"lower quartile of all steps: ours {q1['ours'] * 1000:.2f}, bare {q1['bare'] * 1000:.2f} ms/step "
        f"({100 * (q1['ours'] - q1['bare']) / q1['bare']:+.1f} %)"
    )
    print(
        f"ours, before training (release check + tokenizer + trimming): {statistics.median(prep):.2f} s/run"
    )


if __name__ == "__main__":
    main()
