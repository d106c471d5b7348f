"""Before/after figures of a run's ``metrics.json`` (training/README.md), shaped for pages, the API and
the command line: the headline (base → adapter with the delta) and the per-slice breakdowns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

HEADLINE_METRICS = (
    "eval_loss",
    "perplexity",
    "json_valid_rate",
    "schema_pass_rate",
    "exact_match_rate",
    "refusal_accuracy",
    "preference_accuracy",
)
LOWER_IS_BETTER = {"eval_loss", "perplexity"}
SLICE_DIMENSIONS = ("cluster", "task_type", "source", "difficulty")


@dataclass(frozen=True)
class Change:
    """One metric, base → adapter. ``better`` is None when unchanged or not measured on both sides."""

    metric: str
    base: float | None
    adapter: float | None
    delta: float | None
    better: bool | None
    rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def base_text(self) -> str:
        return fmt(self.base)

    @property
    def adapter_text(self) -> str:
        return fmt(self.adapter)

    @property
    def delta_text(self) -> str:
        return "" if self.delta is None else f"{self.delta:+.4g}"

    @property
    def tone(self) -> str:
        """``better`` / ``worse`` / ``same``: the direction a reader cares about (a CSS class)."""
        return "same" if self.better is None else ("better" if self.better else "worse")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def change(metric: str, base: dict[str, Any], adapter: dict[str, Any]) -> Change:
    before, after = _number(base.get(metric)), _number(adapter.get(metric))
    delta = after - before if before is not None and after is not None else None
    better = None
    if delta:
        better = delta < 0 if metric in LOWER_IS_BETTER else delta > 0
    rows = adapter.get(f"{metric}_n", adapter.get("loss_rows"))
    return Change(metric, before, after, delta, better, rows if isinstance(rows, int) else None)


def headline(metrics: dict[str, Any] | None) -> list[Change]:
    """The metrics measured on either side, in a fixed order; [] for a run without metrics."""
    if not metrics:
        return []
    base, adapter = metrics.get("base") or {}, metrics.get("adapter") or {}
    changes = [change(m, base, adapter) for m in HEADLINE_METRICS]
    return [c for c in changes if c.base is not None or c.adapter is not None]


@dataclass(frozen=True)
class SliceRow:
    value: str
    rows: int
    changes: list[Change | None]  # None: this slice had no rows for the metric
    regressed: list[str]


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    metrics: list[str]  # the columns: metrics some slice of this dimension measured
    rows: list[SliceRow]


def breakdowns(metrics: dict[str, Any] | None) -> list[Breakdown]:
    """Per dimension (cluster, task_type, source, difficulty): one row per value, base → adapter."""
    slices = (metrics or {}).get("slices") or {}
    out = []
    for dimension in SLICE_DIMENSIONS:
        values = slices.get(dimension) or {}
        columns = [
            m
            for m in HEADLINE_METRICS
            if m != "perplexity"  # eval_loss says the same, per slice
            and any(
                _number((e.get("base") or {}).get(m)) is not None
                or _number((e.get("adapter") or {}).get(m)) is not None
                for e in values.values()
            )
        ]
        rows = [
            SliceRow(
                value=str(value),
                rows=int(entry.get("rows") or 0),
                changes=[
                    _measured(change(m, entry.get("base") or {}, entry.get("adapter") or {})) for m in columns
                ],
                regressed=list(entry.get("regressed") or []),
            )
            for value, entry in values.items()
        ]
        out.append(Breakdown(dimension, columns, rows))
    return out


def _measured(c: Change) -> Change | None:
    return None if c.base is None and c.adapter is None else c


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def change_text(c: Change) -> str:
    """``6.237 → 6.181 (-0.0558)``; the form the command line and the pages print."""
    text = f"{fmt(c.base)} → {fmt(c.adapter)}"
    return text + (f" ({c.delta:+.4g})" if c.delta is not None else "")


def summary_text(
    *,
    run_dir: str,
    status: str,
    release: str,
    method: str,
    project: str,
    metrics: dict[str, Any] | None,
    gate: dict[str, Any] | None,
    promoted: bool,
    error: str,
) -> str:
    """What ``manage.py register_training_run`` prints: status, release, eval loss, verdict and reasons."""
    lines = [f"{run_dir}: {status} ({method} on release {release}, project {project})"]
    if status == "failed" and error:
        lines.append("why: " + error.replace("\n", "\n  "))
    progress = (metrics or {}).get("progress")
    if status == "running" and isinstance(progress, dict):
        planned = progress.get("planned_steps")
        lines.append(
            f"progress: phase {progress.get('phase')}, step {progress.get('step')} of {planned or '?'}"
        )
    loss = next((c for c in headline(metrics) if c.metric == "eval_loss"), None)
    if loss is not None:
        lines.append(f"eval loss (test split): base → adapter {change_text(loss)}")
    if gate and gate.get("reasons"):
        lines.append(f"gate: {'PROMOTED' if promoted else 'NOT PROMOTED'}")
        lines += [f"  - {reason}" for reason in gate["reasons"]]
    return "\n".join(lines)
