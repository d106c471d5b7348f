"""One training run, start to finish: check → prepare → train → evaluate → gate → record.

Order matters: the config and the whole release are checked before any model or tokenizer is
loaded, so a bad input fails in a second with a message naming the file and line. A run directory
holds everything (see training/README.md); ``--resume`` continues from its last complete checkpoint.
Only the main process evaluates and writes the records when several processes train.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from training import dpo, sft
from training.config import RunConfig, config_dump, config_load, config_text
from training.data import split_prepare, to_dataset, token_counter
from training.errors import STOPPED_BY_SIGNAL, ConfigError, TrainingError
from training.evaluate import models_compare
from training.gate import gate_decide
from training.manifest import manifest_build
from training.modeling import (
    callbacks,
    hardware_info,
    last_complete_checkpoint,
    lora_config,
    model_load,
    tokenizer_load,
    trainer_kwargs,
    world_size,
)
from training.progress import Heartbeat, progress_callback
from training.release import Release, release_load
from training.report import curves_plot, report_render

log = logging.getLogger("training")
BUILDERS = {"sft": sft.trainer_build, "dpo": dpo.trainer_build}
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RunArgs:
    method: str
    release: Path
    config_path: Path | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    output: Path | None = None
    resume: bool = False
    merge: bool = False
    baseline_adapter: Path | None = None
    argv: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    promoted: bool
    metrics: dict[str, Any]


def _run_dir(args: RunArgs, release: Release) -> Path:
    if args.output is not None:
        return args.output
    if args.resume:
        raise ConfigError("--resume needs --output RUN_DIR: the run directory to continue")
    name = [f"{release.release_id}-{args.method}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"]
    if world_size() > 1:  # every process must agree on the directory: take the main process's clock
        from accelerate import PartialState
        from accelerate.utils import broadcast_object_list

        PartialState()
        broadcast_object_list(name, from_process=0)
    return Path("runs") / name[0]


def _check_inputs(args: RunArgs) -> tuple[RunConfig, Release]:
    config = config_load(args.config_path, args.overrides)
    if not config.model.base_model:
        raise ConfigError("config: model.base_model is empty; set it in the YAML or pass --base_model=PATH")
    release = release_load(args.release, method=args.method)
    if args.baseline_adapter is not None and not (args.baseline_adapter / "adapter_config.json").is_file():
        raise ConfigError(f"--baseline-adapter {args.baseline_adapter} holds no adapter_config.json")
    return config, release


def _resume_point(
    args: RunArgs, config: RunConfig, release: Release, checkpoints: Path, notes: list[str]
) -> Path | None:
    if not args.resume:
        if last_complete_checkpoint(checkpoints) or any(checkpoints.glob("checkpoint-*")):
            raise ConfigError(
                f"{checkpoints.parent} already holds checkpoints; add --resume or choose another --output"
            )
        return None
    started = checkpoints.parent / "run_manifest.json"
    if started.is_file():
        sha = json.loads(started.read_text()).get("release", {}).get("manifest_sha256")
        if sha and sha != release.manifest_sha256:
            # Resuming on other data would silently mix two releases in one adapter.
            raise ConfigError(
                f"{started.parent} was started on another release (manifest sha256 {sha[:12]}); "
                "resume it with that release or start a new run"
            )
    saved = checkpoints.parent / "config.yaml"
    if saved.is_file() and saved.read_text() != config_text(config):
        notes.append("the config differs from the one this run started with (saved config.yaml was replaced)")
    point = last_complete_checkpoint(checkpoints)
    if point is None:
        notes.append("--resume found no complete checkpoint; training started from the beginning")
    return point


def run(args: RunArgs, *, extra_callbacks: Sequence[Any] = ()) -> RunResult | None:
    """Train, evaluate and record one run; None on non-main processes of a multi-process launch.

    Once the run directory is in use, its ``run_manifest.json`` says ``status: running`` and
    ``progress.json`` beats (training.progress); a run that raises ends with ``status: failed`` and the
    error in the manifest, so a reader never mistakes a crashed run for a live one.
    """
    started = datetime.now(UTC).isoformat()
    config, release = _check_inputs(args)  # no model or tokenizer loaded before this passes
    run_dir = _run_dir(args, release)
    checkpoints = run_dir / "checkpoints"
    notes: list[str] = []
    resume_from = _resume_point(args, config, release, checkpoints, notes)

    hardware = hardware_info()
    outputs = {k: str(run_dir / k) for k in ("adapter", "tensorboard", "checkpoints")}
    manifest = manifest_build(
        run_id=run_dir.name, method=args.method, release=release, config=config.to_dict(),
        hardware=hardware, argv=args.argv, outputs=outputs,
    )  # fmt: skip
    manifest.update(started_at=started, status="running")
    main = int(hardware["world_size"]) == 1 or _is_main()
    run_dir.mkdir(parents=True, exist_ok=True)
    heartbeat = Heartbeat(run_dir).start() if main else None
    if main:
        config_dump(config, run_dir / "config.yaml")
        _write_json(run_dir / "run_manifest.json", manifest)
    try:
        result = _execute(
            args, config, release, run_dir, manifest, notes, resume_from, heartbeat, extra_callbacks
        )
    except BaseException as exc:
        if main:
            manifest.update(status="failed", error=_failure(exc), failed_at=datetime.now(UTC).isoformat())
            with contextlib.suppress(OSError):  # a full disk must not hide the original error
                _write_json(run_dir / "run_manifest.json", manifest)
        if heartbeat is not None:
            heartbeat.stop("failed")
        raise
    if heartbeat is not None:
        heartbeat.stop("finished")
    return result


def _failure(exc: BaseException) -> str:
    if isinstance(exc, SystemExit) and exc.code == STOPPED_BY_SIGNAL:
        return "stopped by SIGTERM (a timeout or an operator ended the run); continue it with --resume"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C); continue it with --resume"
    text = str(exc) if isinstance(exc, TrainingError) else f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR_CHARS]


def _execute(
    args: RunArgs,
    config: RunConfig,
    release: Release,
    run_dir: Path,
    manifest: dict[str, Any],
    notes: list[str],
    resume_from: Path | None,
    heartbeat: Heartbeat | None,
    extra_callbacks: Sequence[Any],
) -> RunResult | None:
    def phase(name: str) -> None:
        if heartbeat is not None:
            heartbeat.update(phase=name)

    tokenizer, tokenizer_notes = tokenizer_load(config.model)
    notes += tokenizer_notes
    count = token_counter(tokenizer)
    splits = {
        s: split_prepare(release.rows[s], method=args.method, count=count, settings=config.data)
        for s in release.rows
    }
    if not splits["train"].rows:
        raise TrainingError(f"every train row is longer than max_length {config.data.max_length}; raise it")
    if not splits["test"].rows:
        raise TrainingError(f"every test row is longer than max_length {config.data.max_length}; raise it")
    if splits["train"].rows_in < config.data.min_train_rows:
        notes.append(
            f"only {splits['train'].rows_in} train rows (< {config.data.min_train_rows}): expect little gain"
        )
    has_val = bool(splits["val"].rows)
    if not has_val:
        notes.append("the val split is empty: no evaluation during training and no early stopping")

    from transformers import set_seed

    set_seed(config.train.seed)  # before the LoRA weights are initialised inside the trainer
    model = model_load(config.model, tokenizer)
    progress = [progress_callback(heartbeat)] if heartbeat is not None else []
    trainer = BUILDERS[args.method](
        model=model,
        tokenizer=tokenizer,
        train=to_dataset(splits["train"]),
        val=to_dataset(splits["val"]) if has_val else None,
        config=config,
        common=trainer_kwargs(config, output_dir=run_dir / "checkpoints", has_val=has_val),
        peft_config=lora_config(config),
        callbacks=[
            *callbacks(config, run_dir=run_dir, manifest=manifest, has_val=has_val),
            *progress,
            *extra_callbacks,
        ],
    )
    began = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    runtime = time.perf_counter() - began
    trainer.save_model(str(run_dir / "adapter"))
    if not trainer.is_world_process_zero():
        return None
    tokenizer.save_pretrained(run_dir / "adapter")

    state, accumulation = trainer.state, trainer.args.gradient_accumulation_steps
    processes = int(manifest["hardware"]["world_size"])
    train_info = {
        **splits["train"].stats(),
        "val": splits["val"].stats(),
        "steps": state.global_step,
        "planned_steps": state.max_steps,
        "epochs": state.epoch,
        "stopped_early": state.global_step < state.max_steps,
        "best_checkpoint": state.best_model_checkpoint,
        "resumed_from": str(resume_from) if resume_from else None,
        "per_device_batch_size": config.train.per_device_batch_size,
        "gradient_accumulation_steps": accumulation,
        "world_size": processes,
        "effective_batch_size": config.train.per_device_batch_size * processes * accumulation,
        "runtime_seconds": round(runtime, 2),
        "notes": notes,
        "log_history": state.log_history,
    }
    peft_model = trainer.model
    del trainer
    phase("evaluate")
    metrics = models_compare(peft_model, tokenizer, splits["test"], config, args.baseline_adapter)
    metrics["train"] = train_info
    verdict = gate_decide(
        adapter=metrics["adapter"],
        base=metrics["base"],
        baseline=metrics.get("baseline"),
        settings=config.gate,
    )
    metrics = {"promoted": verdict.promoted, "gate": verdict.to_dict(), **metrics}

    if args.merge:
        phase("merge")
        del peft_model
        gc.collect()
        _merge(config, tokenizer, run_dir / "adapter", run_dir / "merged")
        manifest["outputs"]["merged"] = str(run_dir / "merged")
    phase("record")
    plotted = curves_plot(state.log_history, run_dir / "loss_curve.png")
    manifest["outputs"].update(metrics=str(run_dir / "metrics.json"), report=str(run_dir / "report.md"))
    if plotted:
        manifest["outputs"]["loss_curve"] = str(run_dir / "loss_curve.png")
    manifest.update(finished_at=datetime.now(UTC).isoformat(), promoted=verdict.promoted, status="finished")
    (run_dir / "report.md").write_text(
        report_render(metrics, manifest, plot_name="loss_curve.png" if plotted else None)
    )
    # metrics.json last: its presence is what marks a run finished (the service waits for it).
    _write_json(run_dir / "run_manifest.json", manifest)
    _write_json(run_dir / "metrics.json", metrics)
    log.info("run %s: %s", run_dir, "promoted" if verdict.promoted else "not promoted")
    return RunResult(run_dir=run_dir, promoted=verdict.promoted, metrics=metrics)


def _merge(config: RunConfig, tokenizer: Any, adapter_dir: Path, out_dir: Path) -> None:
    """Base + adapter folded into plain weights (what vLLM serves), with the tokenizer beside them."""
    from peft import PeftModel

    base = model_load(config.model, tokenizer)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _is_main() -> bool:
    from accelerate import PartialState

    return bool(PartialState().is_main_process)


def _finite(value: Any) -> Any:
    """NaN/inf (a diverged loss, an empty average) become null: strict JSON readers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_finite(value), indent=2, default=str, allow_nan=False))
    tmp.replace(path)  # a reader never sees half a file
