"""The agreement dashboard from the database, and the nightly job's agreement gate.

The statistics are the plain core's (:mod:`annotate.agreement`); this module reads the ratings
(:mod:`annotate.selectors_agreement`), applies the SOP's consensus rule, computes the pace once
for every field, and puts the boundary consistency report beside the fields'. The page, the
API and the CSV downloads all render the dict :func:`agreement_dashboard` returns::

    {"project": {"id", "name"}, "sop_version": int, "filters": {...}, "consensus_rule": {...},
     "counts": {"annotations", "tasks", "annotators", "submissions"},
     "field_order": [name, ...],
     "fields": {name: field_report(...) + {"label", "type", "outside_schema"}},
     "boundary": boundary_consistency(...) + {"n_boundary_items"} | {"reason": str},
     "pace": {annotator: {"submitted", "rejected", "rejection_rate", "items_per_hour", ...}},
     "seconds": {"read", "statistics"}, "computed_at": ISO time, "cached": bool}
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from annotate.agreement import (
    NEEDS_TWO,
    annotator_pace,
    boundary_consistency,
    field_report,
    krippendorff_alpha,
    rating_table_from_columns,
    set_table_from_columns,
)
from annotate.agreement.table import is_multi
from annotate.agreement_filters import AgreementFilters
from annotate.models import SOP, Annotation, ReviewAction, Sample, Task
from annotate.selectors_agreement import MUST_REFUSE, SAMPLE_TYPE, RatingData, rating_data
from flywheel.models import Project

NO_BOUNDARY_FIELDS = (
    f"the label schema has no {SAMPLE_TYPE} field with a 'boundary' choice and no {MUST_REFUSE} "
    "bool field, so boundary samples cannot be told apart"
)
NO_BOUNDARY_ITEMS = "no boundary samples among the filtered annotations"

CACHE_SECONDS = 600
GATE_MIN_ITEMS = 20
GATE_PASSED = "alpha {alpha:.3f} on {n} overlapped items is at least the bound {bound:g}"
GATE_LOW = "alpha {alpha:.3f} (95% CI {low}) on {n} overlapped items is below the bound {bound:g}"
GATE_FEW = (
    "only {n} overlapped item(s) (labeled by at least 2 annotators) for field {field!r}; "
    "the gate needs at least {needed}"
)
GATE_UNDEFINED = "alpha is undefined on {n} overlapped items: {why}"


def agreement_dashboard(
    project: Project, filters: AgreementFilters | None = None, *, bootstrap: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Every field's report (all fields, or ``filters.fields``), boundary consistency and pace."""
    filters = filters or AgreementFilters()
    started = time.perf_counter()
    data = rating_data(project=project, filters=filters)
    read = time.perf_counter() - started
    dashboard = dashboard_from(data, project=project, filters=filters, bootstrap=bootstrap, seed=seed)
    dashboard["seconds"] = {
        "read": round(read, 3),
        "statistics": round(time.perf_counter() - started - read, 3),
    }
    dashboard["computed_at"] = timezone.now().isoformat()
    dashboard["cached"] = False
    return dashboard


def agreement_dashboard_cached(
    project: Project, filters: AgreementFilters | None = None, *, fresh: bool = False
) -> dict[str, Any]:
    """:func:`agreement_dashboard`, reused while the labels stay the same, and during labeling
    for up to ``settings.AGREEMENT_REUSE_SECONDS``.

    The page computes every field at once and shows one; switching fields, or the API call
    after the page, reuses the result. A result younger than the reuse window is served as it
    is (each cold computation holds a web worker for seconds on a large project: under active
    labeling every look would be one, for a few more labels in 100,000); an older one is served
    only while the labels stay the same: the check covers new annotations, review decisions
    (rejections, re-queues, final labels), tasks and SOP versions. ``fresh`` recomputes (the
    page's "recompute" link; after a gold answer was edited, say).
    """
    filters = filters or AgreementFilters()
    slot = _slot_key(project, filters)
    held = None if fresh else cache.get(slot)
    if held is not None and time.time() - held["at"] < settings.AGREEMENT_REUSE_SECONDS:
        return {**held["dashboard"], "cached": True}
    state = _cache_key(project, filters)
    if held is not None and held["state"] == state:
        return {**held["dashboard"], "cached": True}
    dashboard = agreement_dashboard(project, filters)
    cache.set(slot, {"state": state, "at": time.time(), "dashboard": dashboard}, CACHE_SECONDS)
    return dashboard


def _slot_key(project: Project, filters: AgreementFilters) -> str:
    text = json.dumps(filters.to_dict(), sort_keys=True, default=str)
    return f"agreement:{project.pk}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _cache_key(project: Project, filters: AgreementFilters) -> str:
    """What the numbers depend on, as a digest (a few aggregate queries)."""
    state = [
        model.objects.filter(**{lookup: project}).aggregate(newest=Max("pk"), n=Count("pk"))
        for model, lookup in (
            (Annotation, "task__project"),
            (ReviewAction, "project"),
            (Sample, "project"),
            (Task, "project"),
            (SOP, "project"),
        )
    ]
    text = json.dumps([filters.to_dict(), state], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def dashboard_from(
    data: RatingData, *, project: Project, filters: AgreementFilters, bootstrap: int = 200, seed: int = 0
) -> dict[str, Any]:
    """The statistics of ratings already read (the bench times this part apart from the read)."""
    schema = data.schema
    pace = annotator_pace(data.submissions)
    fields = {}
    for spec in data.fields:
        report = field_report(
            data.columns[spec.name],
            level=spec.level,
            categories=spec.categories,
            pace=pace,
            bootstrap=bootstrap,
            seed=seed,
            min_share=schema.min_share,
            min_votes=schema.min_votes,
            field=spec.name,
        )
        fields[spec.name] = {
            **report,
            "label": spec.label,
            "type": spec.type,
            "outside_schema": data.outside_schema.get(spec.name, 0),
        }
    return {
        "project": {"id": project.pk, "name": project.name},
        "sop_version": schema.sop_version,
        "filters": filters.to_dict(),
        "consensus_rule": {"min_share": schema.min_share, "min_votes": schema.min_votes},
        "counts": {
            "annotations": data.n_annotations,
            "tasks": data.n_tasks,
            "annotators": len(data.annotators),
            "submissions": len(data.submissions),
        },
        "field_order": [spec.name for spec in data.fields],
        "fields": fields,
        "boundary": _boundary(data, bootstrap=bootstrap, seed=seed),
        "pace": {
            name: {"submitted": p.submitted, "rejected": p.rejected, **p.to_dict()}
            for name, p in sorted(pace.items())
        },
    }


def _boundary(data: RatingData, *, bootstrap: int, seed: int) -> dict[str, Any]:
    if not data.schema.has_boundary:
        return {
            "field": MUST_REFUSE,
            "sample_type": "boundary",
            "n_boundary_items": 0,
            "reason": NO_BOUNDARY_FIELDS,
        }
    report = boundary_consistency(
        data.columns[MUST_REFUSE], boundary_items=data.boundary_items, bootstrap=bootstrap, seed=seed
    )
    reason = None if data.boundary_items else NO_BOUNDARY_ITEMS
    return {**report, "n_boundary_items": len(data.boundary_items), "reason": reason}


def annotator_overview(project: Project, filters: AgreementFilters | None = None) -> dict[str, Any]:
    """Per annotator: pace and rejections, and per field their agreement with consensus, final and gold."""
    dashboard = agreement_dashboard(project, filters, bootstrap=0)
    return annotators_from(dashboard)


def annotators_from(dashboard: dict[str, Any]) -> dict[str, Any]:
    people: dict[str, dict[str, Any]] = {}
    for name, pace in dashboard["pace"].items():
        people[name] = {"annotator": name, **pace, "fields": {}}
    empty = {"submitted": 0, "rejected": 0, "rejection_rate": None, "items_per_hour": None}
    for field_name in dashboard["field_order"]:
        for row in dashboard["fields"][field_name]["annotators"]["rows"]:
            person = people.setdefault(
                row["annotator"], {"annotator": row["annotator"], **empty, "fields": {}}
            )
            person["fields"][field_name] = {
                key: row[key]
                for key in ("n_ratings", "consensus_agreement", "final_agreement", "gold_accuracy")
            }
    return {
        "project": dashboard["project"],
        "sop_version": dashboard["sop_version"],
        "filters": dashboard["filters"],
        "consensus_rule": dashboard["consensus_rule"],
        "annotators": [people[name] for name in sorted(people)],
    }


@dataclass(frozen=True)
class GateResult:
    """The nightly job's verdict on one field: does alpha on overlapped items reach the bound?"""

    passed: bool
    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    n_items: int  # overlapped items: labeled by at least 2 annotators in the current round
    reason: str
    field: str = ""
    min_alpha: float = 0.0
    min_items: int = GATE_MIN_ITEMS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement_gate(
    *,
    project: Project,
    field: str,
    min_alpha: float,
    min_items: int = GATE_MIN_ITEMS,
    filters: AgreementFilters | None = None,
    bootstrap: int = 200,
    seed: int = 0,
) -> GateResult:
    """Krippendorff's alpha of ``field`` on overlapped items >= ``min_alpha``, from ``min_items`` items.

    Undefined alpha (no or too few overlapped items, or no variation) fails, saying why. A
    multi-choice field is judged on whole sets. An unknown or free-text field raises InvalidInput.
    """
    base = filters or AgreementFilters()
    chosen = AgreementFilters((field,), base.sop_versions, base.clusters, base.since, base.until)
    data = rating_data(project=project, filters=chosen, with_work=False, with_boundary=False)
    spec, columns = data.fields[0], data.columns[field]
    if is_multi(columns.first_value()):
        table = set_table_from_columns(columns, choices=spec.categories)
    else:
        table = rating_table_from_columns(columns, level=spec.level, categories=spec.categories)
    n = int((table.raters_per_item >= 2).sum())

    def result(
        passed: bool,
        why: str,
        alpha: float | None = None,
        low: float | None = None,
        high: float | None = None,
    ) -> GateResult:
        return GateResult(
            passed, alpha, low, high, n, why, field=field, min_alpha=min_alpha, min_items=min_items
        )

    if n < min_items:
        return result(False, GATE_FEW.format(n=n, field=field, needed=min_items))
    estimate = krippendorff_alpha(table, bootstrap=bootstrap, seed=seed)
    if estimate.value is None:
        return result(False, GATE_UNDEFINED.format(n=n, why=estimate.reason or NEEDS_TWO))
    low, high = estimate.ci_low, estimate.ci_high
    interval = f"{low:.3f}-{high:.3f}" if low is not None and high is not None else "not computed"
    passed = estimate.value >= min_alpha
    template = GATE_PASSED if passed else GATE_LOW
    why = template.format(alpha=estimate.value, low=interval, n=n, bound=min_alpha)
    return result(passed, why, estimate.value, low, high)
