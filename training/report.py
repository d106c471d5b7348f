"""The human-readable outputs of a run: ``report.md`` and the loss-curve PNG.

Both are built from ``metrics.json``'s content only, so a report can be regenerated from a finished run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.gate import FAIL, SKIPPED

TABLE_METRICS = (
    "eval_loss",
    "perplexity",
    "json_valid_rate",
    "schema_pass_rate",
    "exact_match_rate",
    "refusal_accuracy",
    "preference_accuracy",
)
CURVE_KEYS = ("loss", "eval_loss", "learning_rate", "grad_norm")
NA = "-"  # a metric with no rows to judge


def _fmt(value: Any) -> str:
    if value is None:
        return NA
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _delta(after: Any, before: Any) -> str:
    if isinstance(after, int | float) and isinstance(before, int | float):
        return f"{after - before:+.4g}"
    return NA


def curves_plot(log_history: list[dict[str, Any]], path: Path) -> bool:
    """Loss, eval loss, learning rate and grad norm against the step; False when nothing was logged."""
    series = {
        key: [
            (e["step"], e[key]) for e in log_history if key in e and "step" in e and "train_runtime" not in e
        ]
        for key in CURVE_KEYS
    }
    if not any(series.values()):
        return False
    import matplotlib

    matplotlib.use("Agg")  # no display on a training host
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for key, axis in (("loss", 0), ("eval_loss", 0), ("learning_rate", 1), ("grad_norm", 2)):
        if series[key]:
            steps, values = zip(*series[key], strict=True)
            axes[axis].plot(
                steps, values, marker="o" if key == "eval_loss" else None, markersize=3, label=key
            )
    for axis, title in zip(axes, ("loss", "learning rate", "grad norm"), strict=True):
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    has_baseline = metrics.get("baseline") is not None
    head = "| metric | base | adapter | Δ vs base |" + (" baseline | Δ vs baseline |" if has_baseline else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    base, adapter, baseline = metrics["base"], metrics["adapter"], metrics.get("baseline") or {}
    for name in TABLE_METRICS:
        if base.get(name) is None and adapter.get(name) is None:
            continue
        row = f"| {name} (n={adapter.get(f'{name}_n', adapter.get('loss_rows'))}) | {_fmt(base.get(name))} | "
        row += f"{_fmt(adapter.get(name))} | {_delta(adapter.get(name), base.get(name))} |"
        if has_baseline:
            row += f" {_fmt(baseline.get(name))} | {_delta(adapter.get(name), baseline.get(name))} |"
        lines.append(row)
    return lines


def _slice_tables(metrics: dict[str, Any], gated: list[str]) -> list[str]:
    lines: list[str] = []
    for dim, values in metrics["slices"].items():
        # Only the gated metrics that some slice of this dimension could measure.
        shown = [
            m
            for m in gated
            if any(e["base"].get(m) is not None or e["adapter"].get(m) is not None for e in values.values())
        ]
        lines += [
            "",
            f"### by {dim}",
            "",
            "| " + dim + " | rows | " + " | ".join(f"{m} base → adapter" for m in shown) + " |",
        ]
        lines.append("|" + "---|" * (len(shown) + 2))
        for value, entry in values.items():
            cells = []
            for m in shown:
                before, after = entry["base"].get(m), entry["adapter"].get(m)
                cell = f"{_fmt(before)} → {_fmt(after)}"
                cells.append(f"**⚠ {cell}**" if m in entry["regressed"] else cell)
            flag = " ⚠" if entry["regressed"] else ""
            lines.append(f"| {value}{flag} | {entry['rows']} | " + " | ".join(cells) + " |")
    return lines


def report_render(metrics: dict[str, Any], manifest: dict[str, Any], *, plot_name: str | None) -> str:
    train, gate, release, config = metrics["train"], metrics["gate"], manifest["release"], manifest["config"]
    verdict = "PROMOTED" if metrics["promoted"] else "NOT PROMOTED"
    lines = [
        f"# Training run {manifest['run_id']}",
        "",
        f"Release **{release['release_id']}** (manifest sha256 `{release['manifest_sha256'][:12]}`), "
        f"method **{manifest['method']}**, base model `{config['model']['base_model']}`, "
        f"code `{manifest['code_version']}`, seed {manifest['seed']}.",
        "",
        f"## Verdict: {verdict}",
        "",
        *[f"- {reason}" for reason in gate["reasons"]],
        "",
        "## Before and after (test split)",
        "",
        *_metrics_table(metrics),
        "",
        "Gate checks:",
        "",
        "| metric | against | reference | adapter | change | allowed | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in gate["checks"]:
        mark = {FAIL: "**FAIL**", SKIPPED: "skipped"}.get(c["status"], "pass")
        lines.append(
            f"| {c['metric']} | {c['against']} | {_fmt(c['reference'])} | {_fmt(c['candidate'])} | "
            f"{_fmt(c['delta'])} | {_fmt(c['allowed'])} | {mark} |"
        )
    lines += ["", "## By slice (⚠ = a gated metric regressed beyond tolerance in this slice)"]
    lines += _slice_tables(metrics, config["gate"]["gate_metrics"])
    adapter = metrics["adapter"]
    lines += [
        "",
        "## Training",
        "",
        f"- steps {train['steps']} of {train['planned_steps']} planned, epochs {_fmt(train['epochs'])}"
        + (" (stopped early on val loss)" if train["stopped_early"] else ""),
        f"- train rows {train['rows']} (of {train['rows_in']}): {train['trimmed_context']} with context "
        f"trimmed, {train['dropped_too_long']} dropped as longer than max_length "
        f"{config['data']['max_length']}",
        f"- batch {train['per_device_batch_size']} per device x {train['world_size']} device(s) x "
        f"{train['gradient_accumulation_steps']} accumulation = {train['effective_batch_size']} per step",
        f"- test rows scored {adapter['loss_rows']}, answered by generation {adapter['generated_rows']}; "
        f"test rows dropped as too long: {metrics['test']['dropped_too_long']}",
        f"- best checkpoint: {train.get('best_checkpoint') or NA}",
        f"- resumed from: {train.get('resumed_from') or NA}",
        *[f"- note: {note}" for note in train["notes"]],
    ]
    if plot_name:
        lines += ["", f"![training curves]({plot_name})"]
    evals = [e for e in train["log_history"] if "eval_loss" in e]
    if evals:
        lines += [
            "",
            "| step | train loss | eval loss | learning rate | grad norm |",
            "|---|---|---|---|---|",
        ]
        last_train: dict[str, Any] = {}
        for entry in train["log_history"]:
            if "loss" in entry:
                last_train = entry
            if "eval_loss" in entry:
                lines.append(
                    f"| {entry['step']} | {_fmt(last_train.get('loss'))} | {_fmt(entry['eval_loss'])} | "
                    f"{_fmt(last_train.get('learning_rate'))} | {_fmt(last_train.get('grad_norm'))} |"
                )
    lines += [
        "",
        "TensorBoard: `tensorboard --logdir " + str(Path(manifest["outputs"]["tensorboard"])) + "`",
        "",
    ]
    return "\n".join(lines)
