"""Reads for the seed-variant pages and API: runs with their review progress, rows beside their seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from annotate.augment.diff import Piece, word_diff
from annotate.augment.records import request_text
from annotate.models import AugmentRun, Sample
from annotate.services.augment_review import bulk_needs, proposed_preview, reviewed_count
from flywheel.models import Project

ROW_STATUSES = ("proposed", "final", "discarded")


def augment_runs(*, project: Project) -> QuerySet[AugmentRun]:
    """Runs newest first, with how many of their rows wait, were accepted, were discarded."""
    return (
        AugmentRun.objects.filter(project=project)
        .select_related("created_by")
        .annotate(
            waiting=Count("samples", filter=Q(samples__status=Sample.Status.PROPOSED)),
            accepted=Count("samples", filter=Q(samples__status=Sample.Status.FINAL)),
            discarded=Count("samples", filter=Q(samples__status=Sample.Status.DISCARDED)),
        )
        .order_by("-started_at", "-id")
    )


@dataclass(frozen=True)
class RunProgress:
    waiting: int
    accepted: int
    discarded: int
    reviewed: int  # decided one by one
    needed: int  # one-by-one decisions a bulk accept waits for

    @property
    def bulk_ready(self) -> bool:
        return self.waiting > 0 and self.reviewed >= self.needed

    @property
    def discard_share(self) -> float | None:
        decided = self.reviewed
        return None if decided == 0 else self.discarded / max(1, decided)


def run_progress(*, run: AugmentRun) -> RunProgress:
    counts = dict(
        Sample.objects.filter(augment_run=run).values_list("status").annotate(n=Count("id")).order_by()
    )
    return RunProgress(
        waiting=counts.get(Sample.Status.PROPOSED, 0),
        accepted=counts.get(Sample.Status.FINAL, 0),
        discarded=counts.get(Sample.Status.DISCARDED, 0),
        reviewed=reviewed_count(run=run),
        needed=bulk_needs(run=run),
    )


def run_rows(*, run: AugmentRun, status: str = "") -> QuerySet[Sample]:
    rows = Sample.objects.filter(augment_run=run).select_related("seed", "reviewer").order_by("item_key")
    return rows.filter(status=status) if status in ROW_STATUSES else rows


@dataclass(frozen=True)
class Side:
    """One row of the preview: the variant (or generated row) and, for a variant, its seed."""

    sample: Sample
    request: str  # the variant's last user message
    seed_request: str | None
    request_diff: list[Piece]
    answer_diff: list[Piece]
    augment_type: str
    chosen: str  # what the transform chose, in words: "swapped number 1, product 1 · tone formal"


def side_by_side(sample: Sample) -> Side:
    request = request_text(sample.prompt)
    seed = sample.seed
    seed_request = request_text(seed.prompt) if seed is not None else None
    lineage = sample.lineage or {}
    return Side(
        sample=sample,
        request=request,
        seed_request=seed_request,
        request_diff=word_diff(seed_request, request) if seed_request is not None else [],
        answer_diff=word_diff(seed.answer, sample.answer) if seed is not None else [],
        augment_type=str(lineage.get("augment_type") or ""),
        chosen=describe((lineage.get("params") or {}).get("chosen") or {}),
    )


def describe(chosen: Any) -> str:
    """``{"swapped": {"number": 2}}`` -> "swapped number 2"; a chain's steps joined by " · "."""
    if isinstance(chosen, dict) and isinstance(chosen.get("steps"), list):
        return " · ".join(
            f"{s.get('transform')}: {describe(_without(s, 'transform'))}" for s in chosen["steps"]
        )
    if isinstance(chosen, dict):
        return ", ".join(f"{key} {describe(value)}".strip() for key, value in chosen.items())
    if isinstance(chosen, list):
        return " ".join(describe(item) for item in chosen)
    return str(chosen)


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def preview(*, project: Project, run: AugmentRun, k: int) -> list[Side]:
    return [side_by_side(s) for s in proposed_preview(project=project, run=run, k=k)]
