"""Writes run directories as ``python -m training`` leaves them, without training a model.

The records are made by the training module's own writers (``manifest_build``, ``metrics_summarize``,
``slices_build``, ``gate_decide``, ``report_render``, ``curves_plot``, the heartbeat format) from
scripted answers checked by ``answer_checks``, so their shape is the real one; only the numbers come
from the script instead of a model. States: ``finished``, ``failed`` (the run recorded its error),
``running`` (a checkpoint, no metrics, a heartbeat ``heartbeat_age`` old). The slow tests train for
real; these keep the register, page and permission tests fast.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.training.conftest import TINY_CONFIG
from training.checks import answer_checks, compile_refusal_patterns
from training.config import config_dump, config_load
from training.evaluate import RowResult, metrics_summarize, slices_build
from training.gate import gate_decide
from training.manifest import manifest_build
from training.release import release_load
from training.report import curves_plot, report_render

HARDWARE = {
    "platform": "Linux-test",
    "python": "3.11.7",
    "cpu_count": 2,
    "gpus": [],
    "bf16_supported": False,
    "world_size": 1,
}
LOG_HISTORY = [
    {"loss": 6.2, "learning_rate": 0.002, "grad_norm": 0.3, "step": 2},
    {"loss": 5.9, "learning_rate": 0.0015, "grad_norm": 0.3, "step": 4},
    {"eval_loss": 6.0, "step": 4},
    {"loss": 5.6, "learning_rate": 0.0005, "grad_norm": 0.2, "step": 6},
    {"loss": 5.4, "learning_rate": 0.0001, "grad_norm": 0.2, "step": 8},
    {"eval_loss": 5.7, "step": 8},
]


_CURVE: list[bytes] = []  # training's own plot, drawn once per test session (matplotlib is slow)


def _curve(path: Path) -> None:
    if not _CURVE:
        curves_plot(LOG_HISTORY, path)
        _CURVE.append(path.read_bytes())
    path.write_bytes(_CURVE[0])


def _results(rows: list[dict[str, Any]], *, good: bool, nll: float) -> list[RowResult]:
    """Scripted answers: the golden one when ``good``, a non-answer otherwise; checked for real."""
    patterns = compile_refusal_patterns(config_load(TINY_CONFIG).eval.refusal_patterns)
    out = []
    for row in rows:
        golden = row["messages"][-1]["content"] if "messages" in row else row["chosen"][0]["content"]
        answer = golden if good else "Hmm, let me think about"
        out.append(
            RowResult(
                nll=nll * 10,
                tokens=10,
                answer=answer,
                checks=answer_checks(answer, golden, row["meta"], patterns),
            )
        )
    return out


def write_run_dir(
    root: Path,
    release_dir: Path,
    *,
    method: str = "sft",
    state: str = "finished",
    adapter_better: bool = True,
    heartbeat_age: timedelta = timedelta(seconds=5),
    checkpoints: tuple[int, ...] = (4, 8),
    error: str = "CUDA out of memory. Tried to allocate 2.00 GiB",
) -> Path:
    release = release_load(release_dir, method=method)
    config = config_load(TINY_CONFIG, {"base_model": "/models/tiny"})
    argv = [method, "--release", str(release_dir), "--config", str(TINY_CONFIG), "--output", str(root)]
    outputs = {k: str(root / k) for k in ("adapter", "tensorboard", "checkpoints")}
    manifest = manifest_build(
        run_id=root.name, method=method, release=release, config=config.to_dict(),
        hardware=HARDWARE, argv=argv, outputs=outputs,
    )  # fmt: skip
    now = datetime.now(UTC)
    manifest.update(started_at=(now - timedelta(hours=1)).isoformat(), status="running")
    root.mkdir(parents=True, exist_ok=True)
    config_dump(config, root / "config.yaml")
    for step in checkpoints:
        checkpoint = root / "checkpoints" / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "adapter_model.safetensors").write_bytes(b"\0" * 16)
        config_dump(config, checkpoint / "config.yaml")
    (root / "tensorboard").mkdir()
    last = max(checkpoints, default=0)
    progress = {
        "phase": "train", "step": last + 1, "planned_steps": 8,
        "updated_at": (now - heartbeat_age).isoformat(), "pid": 4242, "host": "gpu-test",
    }  # fmt: skip
    if state == "failed":
        manifest.update(status="failed", error=error, failed_at=now.isoformat())
        progress["phase"] = "failed"
    if state == "finished":
        _finish(root, release, config, manifest, adapter_better)
        progress.update(phase="finished", step=8)
    (root / "run_manifest.json").write_text(json.dumps(manifest, indent=2))
    (root / "progress.json").write_text(json.dumps(progress))
    return root


def _finish(root: Path, release: Any, config: Any, manifest: dict[str, Any], adapter_better: bool) -> None:
    test = release.rows["test"]
    metas = [row["meta"] for row in test]
    results = {
        "base": _results(test, good=not adapter_better, nll=2.0),
        "adapter": _results(test, good=adapter_better, nll=1.5 if adapter_better else 2.5),
    }
    metrics: dict[str, Any] = {name: metrics_summarize(r) for name, r in results.items()}
    metrics.update(
        baseline=None,
        slices=slices_build(results, metas, config.gate),
        test={"rows_in": len(test), "rows": len(test), "trimmed_context": 0, "dropped_too_long": 0},
        examples=[],
        train={
            "rows_in": 42, "rows": 41, "trimmed_context": 1, "dropped_too_long": 1,
            "dropped_ids": ["train-901"],
            "val": {}, "steps": 8, "planned_steps": 8, "epochs": 1.4, "stopped_early": False,
            "best_checkpoint": str(root / "checkpoints" / "checkpoint-8"), "resumed_from": None,
            "per_device_batch_size": 4, "gradient_accumulation_steps": 2, "world_size": 1,
            "effective_batch_size": 8, "runtime_seconds": 12.5, "notes": [], "log_history": LOG_HISTORY,
        },
    )  # fmt: skip
    verdict = gate_decide(adapter=metrics["adapter"], base=metrics["base"], settings=config.gate)
    metrics = {"promoted": verdict.promoted, "gate": verdict.to_dict(), **metrics}
    (root / "adapter").mkdir()
    (root / "adapter" / "adapter_config.json").write_text("{}")
    _curve(root / "loss_curve.png")
    manifest.update(status="finished", finished_at=datetime.now(UTC).isoformat(), promoted=verdict.promoted)
    manifest["outputs"].update(metrics=str(root / "metrics.json"), loss_curve=str(root / "loss_curve.png"))
    (root / "report.md").write_text(report_render(metrics, manifest, plot_name="loss_curve.png"))
    (root / "metrics.json").write_text(json.dumps(metrics, indent=2))
