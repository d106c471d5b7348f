"""A lead's decisions on proposed samples (seed variants, generated rows): accept, discard, bulk.

The workflow is sampling, then bulk: the run page shows ``k`` proposed rows chosen at random
(a stable choice: the same rows on every reload), the lead accepts or discards each, and once
at least :data:`BULK_MIN_REVIEWED` of the run's rows were decided one by one (or all of them,
in a smaller run), the rest can be accepted in one go. Every decision locks the sample row, so
two leads cannot both decide it (the second gets a Conflict naming who won), and writes a
:class:`ReviewAction` (accept / discard / bulk_accept).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from annotate.models import AugmentRun, ReviewAction, Sample
from annotate.services.common import stable_share
from flywheel.errors import Conflict, InvalidInput, NotFound
from flywheel.models import Project

BULK_MIN_REVIEWED = 5
BULK_BATCH = 500
NO_SAMPLE = "No proposed sample {sample} in project '{project}'."
NO_RUN = "No augmentation run {run} in project '{project}'."
ALREADY_DECIDED = "Sample {sample} is already {status}{who}; nothing changed."
REVIEW_FIRST = (
    "Review at least {need} rows of run {run} one by one before accepting the rest in bulk "
    "({done} reviewed so far)."
)
REVIEW_FIRST_HINT = "Open the run's preview, accept or discard the rows shown, then accept the rest."
DECISIONS = (ReviewAction.Kind.ACCEPT, ReviewAction.Kind.DISCARD)


def proposed_of(*, project: Project, run: AugmentRun | None = None) -> QuerySet[Sample]:
    rows = Sample.objects.filter(project=project, status=Sample.Status.PROPOSED)
    return rows.filter(augment_run=run) if run is not None else rows


def proposed_preview(*, project: Project, run: AugmentRun, k: int = 10) -> list[Sample]:
    """``k`` proposed rows of ``run`` chosen at random, the same ones until they are decided.

    Only keys are read for the choice (a command-line run can hold tens of thousands of rows).
    """
    keys = proposed_of(project=project, run=run).values_list("pk", "item_key")
    chosen = sorted(keys, key=lambda row: stable_share(row[1], salt=f"preview-{run.pk}"))[: max(0, k)]
    rows = {s.pk: s for s in Sample.objects.filter(pk__in=[pk for pk, _ in chosen]).select_related("seed")}
    return [rows[pk] for pk, _ in chosen if pk in rows]


def reviewed_count(*, run: AugmentRun) -> int:
    """Rows of ``run`` a lead decided one by one."""
    return ReviewAction.objects.filter(sample__augment_run=run, kind__in=DECISIONS).count()


def bulk_needs(*, run: AugmentRun) -> int:
    """How many rows must be decided one by one before a bulk accept: 5, or all of a smaller run."""
    total = Sample.objects.filter(augment_run=run).exclude(status=Sample.Status.SUPERSEDED).count()
    return min(BULK_MIN_REVIEWED, total)


def proposed_accept(*, project: Project, sample_id: int, reviewer: Any, comment: str = "") -> Sample:
    with transaction.atomic():
        sample = _proposed(project, sample_id)
        _decide(sample, reviewer, Sample.Status.FINAL, Sample.Decision.ACCEPTED)
        _record(sample, reviewer, ReviewAction.Kind.ACCEPT, comment)
        return sample


def proposed_discard(*, project: Project, sample_id: int, reviewer: Any, comment: str = "") -> Sample:
    with transaction.atomic():
        sample = _proposed(project, sample_id)
        _decide(sample, reviewer, Sample.Status.DISCARDED, Sample.Decision.NONE)
        _record(sample, reviewer, ReviewAction.Kind.DISCARD, comment)
        return sample


def proposed_bulk_accept(*, project: Project, run_id: int, reviewer: Any) -> int:
    """Accepts every row of the run still proposed; refused until enough were reviewed one by one."""
    run = AugmentRun.objects.filter(pk=run_id, project=project).first()
    if run is None:
        raise NotFound(NO_RUN.format(run=run_id, project=project.name))
    need, done = bulk_needs(run=run), reviewed_count(run=run)
    if done < need:
        raise InvalidInput(REVIEW_FIRST.format(need=need, run=run.pk, done=done), hint=REVIEW_FIRST_HINT)
    accepted = 0
    while True:
        with transaction.atomic():
            batch = list(
                proposed_of(project=project, run=run).select_for_update().order_by("pk")[:BULK_BATCH]
            )
            if not batch:
                return accepted
            for sample in batch:
                _decide(sample, reviewer, Sample.Status.FINAL, Sample.Decision.BULK, save=False)
            Sample.objects.bulk_update(batch, ["status", "decision", "reviewer", "decided_at", "lineage"])
            ReviewAction.objects.bulk_create(
                [_action(s, reviewer, ReviewAction.Kind.BULK_ACCEPT, "") for s in batch]
            )
            accepted += len(batch)


def _proposed(project: Project, sample_id: int) -> Sample:
    sample = Sample.objects.select_for_update().filter(pk=sample_id, project=project).first()
    if sample is None or sample.origin == Sample.Origin.ANNOTATION:
        raise NotFound(NO_SAMPLE.format(sample=sample_id, project=project.name))
    if sample.status != Sample.Status.PROPOSED:
        last = ReviewAction.objects.filter(sample=sample).select_related("actor").first()
        who = f" (by {last.actor.get_username()})" if last and last.actor else ""
        status = sample.get_status_display().lower()
        raise Conflict(ALREADY_DECIDED.format(sample=sample_id, status=status, who=who))
    return sample


def _decide(sample: Sample, reviewer: Any, status: str, decision: str, *, save: bool = True) -> None:
    sample.status, sample.decision = status, decision
    sample.reviewer, sample.decided_at = reviewer, timezone.now()
    sample.lineage = {
        **sample.lineage,
        "reviewer": reviewer.get_username() if reviewer else None,
        "decision": decision or None,
    }
    if save:
        sample.save(update_fields=["status", "decision", "reviewer", "decided_at", "lineage"])


def _record(sample: Sample, reviewer: Any, kind: str, comment: str) -> None:
    _action(sample, reviewer, kind, comment).save()


def _action(sample: Sample, reviewer: Any, kind: str, comment: str) -> ReviewAction:
    return ReviewAction(
        project_id=sample.project_id,
        sample=sample,
        actor=reviewer,
        kind=kind,
        comment=comment.strip()[:2000],
        values=sample.values if kind != ReviewAction.Kind.DISCARD else None,
    )
