"""What SFT and DPO share: loading the tokenizer and base model, the LoRA config, trainer arguments,
callbacks, checkpoint discovery and a description of the hardware.

Heavy libraries (torch, transformers, peft) are imported inside the functions that need them, so
importing this module (and ``--help``) stays fast.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from training.config import ModelSettings, RunConfig, config_dump
from training.errors import ConfigError

CHAT_MARKERS = ("<|im_start|>", "<|im_end|>")
CHECKPOINT_MARKER = "config.yaml"  # written by ConfigSaver after a checkpoint is complete


def world_size() -> int:
    """Processes started by ``accelerate launch`` / torchrun (they set WORLD_SIZE); 1 otherwise."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def bf16_resolve(config: RunConfig) -> bool:
    import torch

    supported = cuda_available() and bool(torch.cuda.is_bf16_supported())
    if config.train.bf16 is None:
        return supported
    if config.train.bf16 and not supported:
        raise ConfigError("config: bf16 is on but this hardware does not support it; set --bf16=auto")
    return config.train.bf16


def hardware_info() -> dict[str, Any]:
    import torch

    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda_available() else []
    )
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "bf16_supported": bool(gpus) and bool(torch.cuda.is_bf16_supported()),
        "world_size": world_size(),
    }


def tokenizer_load(settings: ModelSettings) -> tuple[Any, list[str]]:
    """(tokenizer, notes). Gives a tokenizer without a chat template the configured one."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        settings.base_model, trust_remote_code=settings.trust_remote_code
    )
    notes: list[str] = []
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = settings.chat_template
        notes.append("the tokenizer had no chat template; the configured model.chat_template was set")
        vocab = tokenizer.get_vocab()
        missing = [m for m in CHAT_MARKERS if m in settings.chat_template and m not in vocab]
        if missing:
            # Markers split into sub-word pieces would never act as a stop token; make them real tokens.
            # Their embedding rows start at the mean embedding (transformers' resize) and LoRA does not train
            # them: PEFT's trainable-token wrapper on a tied LM head breaks TRL's fused loss, and
            # modules_to_save would be bypassed by it. A tokenizer with its own template is the better base.
            tokenizer.add_special_tokens({"additional_special_tokens": missing})
            notes.append(
                f"added chat markers {missing} as new special tokens (mean-initialised, not trained); "
                "prefer a base model whose tokenizer ships a chat template"
            )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, notes


def model_load(settings: ModelSettings, tokenizer: Any) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    dtype: Any = settings.dtype if settings.dtype == "auto" else getattr(torch, settings.dtype)
    model = AutoModelForCausalLM.from_pretrained(
        settings.base_model, dtype=dtype, trust_remote_code=settings.trust_remote_code
    )
    embeddings: Any = model.get_input_embeddings()
    if len(tokenizer) > int(embeddings.weight.shape[0]):
        model.resize_token_embeddings(len(tokenizer))
    return model


def stop_token_ids(tokenizer: Any) -> list[int]:
    """Generation stops at EOS or at the end-of-turn marker (a base model's EOS is often another token)."""
    ids = {tokenizer.eos_token_id}
    vocab = tokenizer.get_vocab()
    ids |= {vocab[m] for m in CHAT_MARKERS[1:] if m in vocab}
    return sorted(i for i in ids if i is not None)


def lora_config(config: RunConfig) -> Any:
    from peft import LoraConfig

    settings = config.lora
    return LoraConfig(
        r=settings.lora_rank,
        lora_alpha=settings.lora_alpha or 2 * settings.lora_rank,
        lora_dropout=settings.lora_dropout,
        target_modules=settings.target_modules,
        task_type="CAUSAL_LM",
        bias="none",
    )


def trainer_kwargs(config: RunConfig, *, output_dir: Path, has_val: bool) -> dict[str, Any]:
    """Arguments SFTConfig and DPOConfig share (both extend transformers.TrainingArguments)."""
    t = config.train
    early_stop = has_val and t.early_stopping_patience > 0
    on_gpu = cuda_available()
    return {
        "output_dir": str(output_dir),
        "learning_rate": t.learning_rate,
        "lr_scheduler_type": t.lr_scheduler_type,
        "warmup_steps": t.warmup_ratio,  # transformers 5: a float below 1 is a ratio of the total steps
        "per_device_train_batch_size": t.per_device_batch_size,
        "per_device_eval_batch_size": t.per_device_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps(world_size()),
        "num_train_epochs": t.num_epochs,
        "max_steps": t.max_steps,
        "eval_strategy": "steps" if has_val else "no",
        "eval_steps": t.eval_steps,
        "save_strategy": "steps",
        "save_steps": t.save_steps,
        "save_total_limit": t.save_total_limit,
        "logging_steps": t.logging_steps,
        "load_best_model_at_end": early_stop,
        "metric_for_best_model": "eval_loss" if early_stop else None,
        "greater_is_better": False if early_stop else None,
        "bf16": bf16_resolve(config),
        "use_cpu": not on_gpu,
        "activation_checkpointing": t.gradient_checkpointing,
        "activation_checkpointing_kwargs": {"use_reentrant": False} if t.gradient_checkpointing else None,
        "seed": t.seed,
        "data_seed": t.seed,
        "dataloader_num_workers": t.dataloader_num_workers,
        # Every LoRA parameter takes part in each forward pass; the unused-parameter search is pure cost.
        "ddp_find_unused_parameters": False,
        # Curves go to our own TensorBoard writer (see callbacks()); no other tracker is contacted.
        "report_to": "none",
        "disable_tqdm": True,
        "max_length": config.data.max_length,
    }


def callbacks(config: RunConfig, *, run_dir: Path, manifest: dict[str, Any], has_val: bool) -> list[Any]:
    from torch.utils.tensorboard import SummaryWriter
    from transformers import EarlyStoppingCallback, TrainerCallback
    from transformers.integrations import TensorBoardCallback

    class ConfigSaver(TrainerCallback):  # type: ignore[misc]
        """nanoGPT habit: the full config beside every checkpoint. Written last, so it marks completeness."""

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if ckpt.is_dir():
                    (ckpt / "run_manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
                    config_dump(config, ckpt / CHECKPOINT_MARKER)

    found: list[Any] = [ConfigSaver()]
    if int(os.environ.get("RANK", "0")) == 0:
        found.append(TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(run_dir / "tensorboard"))))
    if has_val and config.train.early_stopping_patience > 0:
        found.append(
            EarlyStoppingCallback(
                early_stopping_patience=config.train.early_stopping_patience,
                early_stopping_threshold=config.train.early_stopping_threshold,
            )
        )
    return found


def last_complete_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest ``checkpoint-N`` whose save finished (a SIGKILL mid-save leaves one without the marker)."""
    if not checkpoint_dir.is_dir():
        return None
    done = [
        p
        for p in checkpoint_dir.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / CHECKPOINT_MARKER).is_file()
    ]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)
