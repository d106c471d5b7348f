"""Direct preference optimisation with LoRA: TRL's DPOTrainer on the release's prompt/chosen/rejected rows.

    python -m training dpo --release var/releases/acme-v3 --config training/configs/dpo.yaml

The reference model is the base with the adapter switched off (``ref_model=None`` with a PEFT
config), so only one copy of the weights sits in memory. The run itself lives in ``training.runner``.
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
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(**common, beta=config.train.beta)
    return DPOTrainer(
        model=model,
        ref_model=None,
        args=args,
        train_dataset=train,
        eval_dataset=val,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
