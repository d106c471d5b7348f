"""Reads for the training-run pages and API: the list with headline metrics, one run's files.

A run's files are served only from inside its run directory, and only the few a run writes
(``RUN_FILES``): a name from a URL is looked up there, never joined onto the path, and the resolved
file must still lie inside the directory (a symlink pointing out of it is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.db.models import QuerySet

from flywheel.models import Project, TrainingRun
from flywheel.training_runs.summary import HEADLINE_METRICS, Breakdown, Change, breakdowns, headline

RUN_FILES = {
    "loss_curve.png": "image/png",
    "report.md": "text/plain; charset=utf-8",  # shown as text, never rendered as HTML
    "metrics.json": "application/json",
    "run_manifest.json": "application/json",
    "config.yaml": "text/plain; charset=utf-8",
}
MAX_REPORT_BYTES = 1_000_000
ARTIFACTS = ("adapter", "merged", "checkpoints", "tensorboard")


def training_run_list(*, project: Project) -> QuerySet[TrainingRun]:
    return (
        TrainingRun.objects.filter(project=project)
        .select_related("release")
        .defer("manifest", "config")
        .order_by("-started_at", "-id")
    )


@dataclass(frozen=True)
class RunRow:
    run: TrainingRun
    cells: list[Change | None]  # one per ``columns`` entry of the list


def training_run_rows(runs: list[TrainingRun]) -> tuple[list[str], list[RunRow]]:
    """The headline metrics measured by any of ``runs`` (the list's columns) and each run's cells."""
    changes = {run.pk: {c.metric: c for c in headline(run.metrics)} for run in runs}
    columns = [m for m in HEADLINE_METRICS if m != "perplexity" and any(m in c for c in changes.values())]
    return columns, [RunRow(run, [changes[run.pk].get(m) for m in columns]) for run in runs]


def run_file(run: TrainingRun, name: str) -> Path | None:
    """The file ``name`` of ``run``'s directory, or None (not a run file, missing, or outside the dir)."""
    if name not in RUN_FILES:
        return None
    root = Path(run.run_dir).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def run_report(run: TrainingRun) -> str | None:
    path = run_file(run, "report.md")
    if path is None:
        return None
    with path.open("rb") as f:
        data = f.read(MAX_REPORT_BYTES + 1)
    text = data[:MAX_REPORT_BYTES].decode("utf-8", errors="replace")
    if len(data) > MAX_REPORT_BYTES:
        text += "\n… (cut at 1 MB; download report.md for the rest)"
    return text


@dataclass(frozen=True)
class RunDetail:
    headline: list[Change]
    breakdowns: list[Breakdown]
    config_yaml: str
    report: str | None
    has_curve: bool
    artifacts: list[tuple[str, str]]  # (name, path) of the outputs present on disk
    checks: list[dict[str, object]]
    reasons: list[str]


def training_run_detail(run: TrainingRun) -> RunDetail:
    root = Path(run.run_dir)
    gate = run.gate if isinstance(run.gate, dict) else {}
    return RunDetail(
        headline=headline(run.metrics),
        breakdowns=[b for b in breakdowns(run.metrics) if b.rows],
        config_yaml=yaml.safe_dump(run.config, sort_keys=False, allow_unicode=True, width=100)
        if run.config
        else "",
        report=run_report(run),
        has_curve=run_file(run, "loss_curve.png") is not None,
        artifacts=[(name, str(root / name)) for name in ARTIFACTS if (root / name).is_dir()],
        checks=list(gate.get("checks") or []),
        reasons=[str(r) for r in gate.get("reasons") or []],
    )
