"""The contract with the training side: a real export, as is, feeds TRL and ``python -m training``.

Each file loads with ``datasets.load_dataset("json", ...)``; a tiny-model TRL SFTTrainer and
DPOTrainer run one step on every split exactly as exported (``meta`` column included); the
training module's reader accepts the release and trains on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flywheel.cluster.embedding import HashingEmbedder
from flywheel.models import FlywheelPolicy
from flywheel.pii import FakeScrubber
from flywheel.services.export import release_publish
from tests.flywheel.export.seed import export_project, seed_samples
from tests.training.conftest import TINY_CONFIG

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def exported(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path
    project, lead = export_project("contract", min_samples=50)
    FlywheelPolicy.objects.filter(project=project).update(test_share=0.2, val_share=0.2)
    seed_samples(project, 96)
    release = release_publish(
        project=project, user=lead, scrubber=FakeScrubber(key=b"k"), embedder=HashingEmbedder(256)
    ).release
    for method in ("sft", "dpo"):
        assert all(release.counts[method][s] >= 2 for s in SPLITS), release.counts
    return Path(release.path)


def _load(root: Path, name: str):
    from datasets import load_dataset

    return load_dataset("json", data_files=str(root / name), split="train")


def _one_step(trainer_cls, config_cls, model_dir: Path, dataset, out: Path, **extra) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    args = config_cls(
        output_dir=str(out),
        max_steps=1,
        per_device_train_batch_size=2,
        use_cpu=True,
        bf16=False,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        max_length=256,
        **extra,
    )
    trainer = trainer_cls(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    return trainer.train().training_loss


def test_every_split_loads_and_trains_one_step_in_trl_sft_and_dpo_as_exported(exported, tiny_model, tmp_path):
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    for split in SPLITS:
        sft = _load(exported, f"sft/{split}.jsonl")
        assert {"messages", "meta"} <= set(sft.column_names)
        loss = _one_step(SFTTrainer, SFTConfig, tiny_model, sft, tmp_path / f"sft-{split}")
        assert loss > 0, split
        dpo = _load(exported, f"dpo/{split}.jsonl")
        assert {"prompt", "chosen", "rejected", "meta"} <= set(dpo.column_names)
        loss = _one_step(DPOTrainer, DPOConfig, tiny_model, dpo, tmp_path / f"dpo-{split}")
        assert loss > 0, split


def test_the_llamafactory_files_load_with_the_columns_dataset_info_names(exported):
    info = json.loads((exported / "llamafactory/dataset_info.json").read_text())
    for entry in info.values():
        dataset = _load(exported / "llamafactory", entry["file_name"])
        assert set(entry["columns"].values()) <= set(dataset.column_names), entry["file_name"]


def test_the_training_module_reads_and_trains_on_the_export(exported, tiny_model, tmp_path):
    from training.cli import main
    from training.release import release_load

    for method in ("sft", "dpo"):
        release = release_load(exported, method=method)
        assert release.release_id == "contract-v1"
    args = [
        "sft",
        "--release",
        str(exported),
        "--config",
        str(TINY_CONFIG),
        f"--base_model={tiny_model}",
        "--output",
        str(tmp_path / "run"),
        "--max_steps=1",
        "--eval_generate_rows=2",
    ]
    assert main(args) == 0
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    assert metrics["train"]["steps"] == 1
