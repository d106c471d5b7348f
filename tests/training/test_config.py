"""Config: dataclass defaults < YAML < command line, checked and saved resolved."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.training.conftest import ROOT, TINY_CONFIG
from training.cli import make_parser
from training.config import RunConfig, config_dump, config_load
from training.errors import ConfigError

CONFIGS = TINY_CONFIG.parent


def test_the_defaults_follow_the_design_brief() -> None:
    config = config_load()
    assert (config.lora.lora_rank, config.lora.lora_alpha, config.lora.lora_dropout) == (16, 32, 0.05)
    assert config.lora.target_modules == "all-linear"
    assert (config.train.learning_rate, config.train.lr_scheduler_type, config.train.warmup_ratio) == (
        2e-4,
        "cosine",
        0.03,
    )
    assert config.train.num_epochs == 3
    assert config.train.early_stopping_patience > 0
    assert config.train.bf16 is None  # auto: on when the hardware supports it
    assert config.train.beta == 0.1


@pytest.mark.parametrize("name", ["sft.yaml", "dpo.yaml", "tiny-cpu.yaml"])
def test_every_shipped_config_loads(name: str) -> None:
    config = config_load(CONFIGS / name)
    assert config.lora.lora_alpha == 2 * config.lora.lora_rank


def test_yaml_overrides_defaults_and_the_command_line_overrides_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        textwrap.dedent(
            """
            lora: {lora_rank: 8}
            train: {learning_rate: 1e-4, seed: 3, per_device_batch_size: 2}
            data: {packing: true}
            """
        )
    )
    from_yaml = config_load(path)
    assert (from_yaml.lora.lora_rank, from_yaml.train.learning_rate, from_yaml.train.seed) == (8, 1e-4, 3)
    assert from_yaml.data.packing is True
    assert from_yaml.train.eval_steps == 50  # untouched default

    both = config_load(
        path, {"learning_rate": "5e-5", "train.seed": "11", "target_modules": "[q_proj, v_proj]"}
    )
    assert (both.train.learning_rate, both.train.seed) == (5e-5, 11)
    assert both.train.per_device_batch_size == 2  # from YAML, not overridden
    assert both.lora.target_modules == ["q_proj", "v_proj"]


def test_lora_alpha_is_twice_the_rank_unless_set() -> None:
    assert config_load(None, {"lora_rank": "4"}).lora.lora_alpha == 8
    assert config_load(None, {"lora_rank": "4", "lora_alpha": "5"}).lora.lora_alpha == 5


def test_gradient_accumulation_makes_up_the_effective_batch() -> None:
    config = config_load(None, {"per_device_batch_size": "4", "effective_batch_size": "16"})
    assert config.gradient_accumulation_steps(world_size=1) == 4
    assert config.gradient_accumulation_steps(world_size=2) == 2
    assert config.gradient_accumulation_steps(world_size=8) == 1
    assert (
        config_load(
            None, {"per_device_batch_size": "3", "effective_batch_size": "16"}
        ).gradient_accumulation_steps()
        == 6
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"learning_rat": "1"}, "unknown option --learning_rat"),
        ({"lora.learning_rate": "1"}, "unknown option --lora.learning_rate"),
        ({"lora_rank": "many"}, "--lora_rank: expected int, got 'many'"),
        ({"too_long": "cut"}, "too_long must be 'trim' or 'drop'"),
        ({"dtype": "fp16"}, "dtype must be one of"),
        ({"gate_metrics": "[bleu]"}, "unknown gate metric(s) ['bleu']"),
        ({"eval_steps": "3", "save_steps": "4"}, "save_steps (4) must be a multiple of eval_steps (3)"),
    ],
)
def test_bad_values_are_refused_with_the_option_named(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config_load(None, overrides)
    assert message in str(refused.value)


def test_an_unknown_yaml_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lerning_rate: 1\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: unknown key train\.lerning_rate"):
        config_load(path)


def test_the_saved_resolved_config_loads_back_unchanged(tmp_path: Path) -> None:
    config = config_load(TINY_CONFIG, {"lora_rank": "2", "bf16": "auto"})
    config_dump(config, tmp_path / "config.yaml")
    assert config_load(tmp_path / "config.yaml") == config
    assert isinstance(config, RunConfig)


def test_the_parser_turns_key_value_options_into_overrides() -> None:
    parsed = make_parser().parse_args(
        ["dpo", "--release", "r", "--learning_rate=1e-4", "--lora.lora_rank=8", "--beta", "0.2", "--merge"]
    )
    overrides = {k.split(":", 1)[1]: v for k, v in vars(parsed).items() if k.startswith("cfg:")}
    assert overrides == {"learning_rate": "1e-4", "lora_rank": "8", "beta": "0.2"}
    assert parsed.method == "dpo" and parsed.merge and not parsed.resume


def test_help_answers_without_importing_torch_or_trl() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from training.cli import make_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    make_parser().parse_args(['sft', '--help'])\n"
        "assert '--learning_rate' in out.getvalue()\n"
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"
