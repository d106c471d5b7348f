"""Supervised fine-tuning with LoRA: TRL's SFTTrainer on the release's prompt/completion rows.

    python -m training sft --release var/releases/acme-v3 --config training/configs/sft.yaml

The run itself (release check, data, evaluation, gate, report) lives in ``training.runner``; this
module only knows how SFT differs: loss on the completion (the golden answer) and optional packing.
"""

from __future__ import annotations

from typing import Any

from training.config import RunConfig


def trainer_build(
    *,
    model: Any,
    tokenizer: Any,
    train: Any,
    val: Any | None,
    config: RunConfig,
    common: dict[str, Any],
    peft_config: Any,
    callbacks: list[Any],
) -> Any:
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        **common,
        packing=config.data.packing,
        # Loss on the golden answer only; the prompt (and earlier turns) is context.
        completion_only_loss=True,
        # Samples already fit max_length (training.data); TRL's keep_start cut would never fire.
        dataset_num_proc=None,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=val,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
