"""Run configuration: dataclasses with help text, loaded from YAML, overridden on the command line.

Precedence, lowest first: the dataclass defaults below < the YAML file (``--config``) < ``--key=value``
overrides. The YAML file is nested by section (``model:``, ``lora:``, ``train:``, ``data:``, ``eval:``,
``gate:``); field names are unique across sections, so an override may name a field plainly
(``--learning_rate=1e-4``) or with its section (``--train.learning_rate=1e-4``). Values are parsed as
YAML (``--target_modules=[q_proj,v_proj]``, ``--lora_alpha=null``) and checked against the field type.
The resolved config (every field, ``lora_alpha`` filled in) is saved next to the outputs and every
checkpoint. No heavy import here: ``--help`` builds its text from these classes.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training.checks import DEFAULT_REFUSAL_PATTERNS
from training.errors import ConfigError

# ChatML, given to tokenizers that ship no chat template. The {% generation %} blocks mark assistant
# tokens for TRL's assistant_only_loss; our SFT rows use prompt/completion and do not need them.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
DTYPES = ("auto", "float32", "bfloat16", "float16")
GATE_METRICS = (
    "eval_loss",
    "json_valid_rate",
    "schema_pass_rate",
    "exact_match_rate",
    "refusal_accuracy",
    "preference_accuracy",
)


def _f(default: Any, help: str) -> Any:
    """A dataclass field with help text; a list default gets a factory (so RUF009 below is a false alarm)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class ModelSettings:
    base_model: str = _f("", "Base model: a local directory, or a hub id where the host has internet.")
    chat_template: str = _f(CHATML_TEMPLATE, "Jinja chat template set when the tokenizer has none.")
    trust_remote_code: bool = _f(False, "Allow model code shipped with the checkpoint.")
    dtype: str = _f("auto", "Weights dtype when loading: auto, float32, bfloat16, float16.")


@dataclass
class LoraSettings:
    lora_rank: int = _f(16, "LoRA rank r.")
    lora_alpha: int | None = _f(None, "LoRA alpha; null = 2 x rank.")
    lora_dropout: float = _f(0.05, "Dropout on the LoRA branch.")
    target_modules: str | list[str] = _f("all-linear", "Modules to adapt: 'all-linear' or a list.")  # noqa: RUF009


@dataclass
class TrainSettings:
    learning_rate: float = _f(2e-4, "Peak learning rate.")
    lr_scheduler_type: str = _f("cosine", "Learning-rate schedule after warm-up.")
    warmup_ratio: float = _f(0.03, "Share of the steps spent warming up.")
    per_device_batch_size: int = _f(4, "Rows per device per forward pass.")
    effective_batch_size: int = _f(16, "Target rows per optimizer step; gradient accumulation makes it up.")
    num_epochs: float = _f(3.0, "Passes over the train split (ignored when max_steps > 0).")
    max_steps: int = _f(-1, "Stop after this many optimizer steps; -1 = use num_epochs.")
    eval_steps: int = _f(50, "Evaluate on the val split every N steps.")
    save_steps: int = _f(50, "Checkpoint every N steps (a multiple of eval_steps with early stopping).")
    save_total_limit: int | None = _f(3, "Checkpoints kept (plus the best); null = all.")
    logging_steps: int = _f(10, "Log loss, learning rate and grad norm every N steps.")
    early_stopping_patience: int = _f(3, "Stop after N evaluations without val-loss improvement; 0 = off.")
    early_stopping_threshold: float = _f(0.0, "Smallest val-loss improvement that counts.")
    bf16: bool | None = _f(None, "bf16 mixed precision; null/auto = when the hardware supports it.")
    gradient_checkpointing: bool = _f(False, "Trade compute for activation memory.")
    seed: int = _f(42, "Seed for weights init of LoRA, data order and dropout.")
    beta: float = _f(0.1, "DPO: strength of the KL penalty towards the reference (base) model.")
    dataloader_num_workers: int = _f(0, "Data-loader worker processes.")


@dataclass
class DataSettings:
    max_length: int = _f(1024, "Longest tokenized sample (prompt + answer).")
    too_long: str = _f(
        "trim", "Samples over max_length: 'trim' oldest context turns (drop if still too long) or 'drop'."
    )
    keep_system: bool = _f(True, "When trimming, keep the system message while it fits.")
    packing: bool = _f(False, "SFT: pack several samples into one max_length sequence.")
    min_train_rows: int = _f(500, "Warn (in the report) when the train split has fewer rows.")


@dataclass
class EvalSettings:
    eval_loss_rows: int = _f(0, "Test rows scored for loss/perplexity; 0 = all.")
    eval_generate_rows: int = _f(200, "Test rows answered by generation for the task checks; 0 = all.")
    eval_max_new_tokens: int = _f(256, "Generation length limit for the checks.")
    eval_batch_size: int = _f(8, "Rows per evaluation batch.")
    refusal_patterns: list[str] = _f(DEFAULT_REFUSAL_PATTERNS, "Regexes that mark a refusal.")  # noqa: RUF009


@dataclass
class GateSettings:
    gate_metrics: list[str] = _f(list(GATE_METRICS), "Metrics that must not regress.")  # noqa: RUF009
    gate_tolerance: float = _f(0.02, "Allowed absolute drop of a rate metric (0.02 = 2 points).")
    gate_loss_tolerance: float = _f(0.02, "Allowed relative rise of eval_loss (0.02 = 2%).")


@dataclass
class RunConfig:
    model: ModelSettings = field(default_factory=ModelSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    data: DataSettings = field(default_factory=DataSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    gate: GateSettings = field(default_factory=GateSettings)

    def gradient_accumulation_steps(self, world_size: int = 1) -> int:
        """Steps to accumulate so per-device batch x devices x steps reaches the effective batch."""
        per_step = self.train.per_device_batch_size * max(world_size, 1)
        return max(1, math.ceil(self.train.effective_batch_size / per_step))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(RunConfig)[f.name] for f in dataclasses.fields(RunConfig)
}


def field_index() -> dict[str, tuple[str, dataclasses.Field[Any], Any]]:
    """Field name -> (section, field, resolved type), for the parser and overrides."""
    index: dict[str, tuple[str, dataclasses.Field[Any], Any]] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            index[f.name] = (section, f, hints[f.name])
    return index


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against the field type; accept what YAML 1.1 leaves as strings (``2e-4``)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        is_null = value is None or (isinstance(value, str) and value.lower() in ("null", "none", "auto"))
        if is_null and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[-1] if errors else f"{where}: bad value {value!r}")
    if typing.get_origin(hint) is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], where) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
    elif hint is int and not isinstance(value, bool):
        try:
            if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
                return int(value)
        except ValueError:
            pass
    elif hint is float and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    elif hint is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")


def config_load(path: Path | str | None = None, overrides: dict[str, str] | None = None) -> RunConfig:
    """Defaults < YAML file < overrides, named plainly or with their section (``train.learning_rate``)."""
    index = field_index()
    values: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} not found; pass --config training/configs/sft.yaml or a copy"
            )
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of sections ({', '.join(SECTIONS)})")
        for section, body in raw.items():
            if section not in SECTIONS or not isinstance(body, dict):
                raise ConfigError(f"{path}: unknown section {section!r}; sections are {', '.join(SECTIONS)}")
            for key, value in body.items():
                if key not in index or index[key][0] != section:
                    raise ConfigError(f"{path}: unknown key {section}.{key}")
                values[section][key] = _coerce(value, index[key][2], f"{path}: {section}.{key}")
    for name, text in (overrides or {}).items():
        key = name.split(".", 1)[1] if "." in name else name
        if key not in index or ("." in name and name.split(".", 1)[0] != index[key][0]):
            raise ConfigError(f"unknown option --{name}; `python -m training sft --help` lists them")
        section, _, hint = index[key]
        try:
            parsed = yaml.safe_load(text) if isinstance(text, str) else text
        except yaml.YAMLError:
            parsed = text
        values[section][key] = _coerce(parsed, hint, f"--{name}")
    config = RunConfig(**{section: cls(**values[section]) for section, cls in SECTIONS.items()})
    return config_resolve(config)


def config_resolve(config: RunConfig) -> RunConfig:
    """Fill derived values and reject combinations that would fail later, after a model has loaded."""
    if config.lora.lora_alpha is None:
        config.lora.lora_alpha = 2 * config.lora.lora_rank
    t, d = config.train, config.data
    checks = [
        (config.lora.lora_rank > 0, "lora_rank must be positive"),
        (t.per_device_batch_size > 0, "per_device_batch_size must be positive"),
        (
            t.effective_batch_size >= t.per_device_batch_size,
            "effective_batch_size must be >= per_device_batch_size",
        ),
        (
            t.eval_steps > 0 and t.save_steps > 0 and t.logging_steps > 0,
            "eval/save/logging steps must be positive",
        ),
        (
            t.early_stopping_patience == 0 or t.save_steps % t.eval_steps == 0,
            f"with early stopping, save_steps ({t.save_steps}) must be a multiple of "
            f"eval_steps ({t.eval_steps})",
        ),
        (d.too_long in ("trim", "drop"), f"too_long must be 'trim' or 'drop', not {d.too_long!r}"),
        (config.model.dtype in DTYPES, f"dtype must be one of {DTYPES}, not {config.model.dtype!r}"),
        (d.max_length > 8, "max_length is too small to hold a chat turn"),
        (0 <= t.warmup_ratio < 1, "warmup_ratio must be in [0, 1)"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"config: {message}")
    unknown = [m for m in config.gate.gate_metrics if m not in GATE_METRICS]
    if unknown:
        raise ConfigError(f"config: unknown gate metric(s) {unknown}; choose from {list(GATE_METRICS)}")
    return config


def config_text(config: RunConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True, width=110)


def config_dump(config: RunConfig, path: Path) -> None:
    path.write_text(config_text(config))
