"""Fixtures of the training tests: the tiny model and a factory release are built once per session,
and one SFT and one DPO run are trained once and inspected by many tests. No database is touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import training
from tests.training.release_factory import write_release

ROOT = Path(training.__file__).resolve().parent.parent  # the repository; subprocesses run from here
TINY_CONFIG = ROOT / "training" / "configs" / "tiny-cpu.yaml"


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The tiny model's matrices are so small that a second thread only adds synchronisation; on a busy
    2-core host it made each step ~10x slower. Restored afterwards for the other test folders."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(tmp_path_factory.mktemp("release"))


def train_args(method: str, release: Path, model: Path, output: Path, *extra: str) -> list[str]:
    return [
        method,
        "--release",
        str(release),
        "--config",
        str(TINY_CONFIG),
        f"--base_model={model}",
        "--output",
        str(output),
        *extra,
    ]


@pytest.fixture(scope="session")
def sft_run(tiny_model: Path, release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.cli import main

    out = tmp_path_factory.mktemp("runs") / "sft"
    assert main(train_args("sft", release_dir, tiny_model, out, "--merge")) == 0
    return out


@pytest.fixture(scope="session")
def dpo_run(
    sft_run: Path, tiny_model: Path, release_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """DPO, gated against the SFT adapter as the "previously promoted" one (same base model)."""
    from training.cli import main

    out = tmp_path_factory.mktemp("runs") / "dpo"
    args = train_args("dpo", release_dir, tiny_model, out, "--baseline-adapter", str(sft_run / "adapter"))
    assert main(args) == 0
    return out
