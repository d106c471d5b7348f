"""The leads' agreement dashboard and its CSV downloads. Thin: filters in, dashboard out, charts drawn."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from annotate import charts
from annotate.agreement_filters import AgreementFilters, agreement_filters
from annotate.dashboard_tables import TABLES, dashboard_table, field_parts
from annotate.models import SOP, Role, Task
from annotate.selectors_agreement import agreement_schema, chosen_fields
from annotate.services.agreement import agreement_dashboard_cached
from flywheel.csvsafe import csv_text
from flywheel.errors import FlywheelError
from flywheel.models import Cluster
from flywheel.views import project_for

TEMPLATE = "annotate/agreement.html"


@require_safe
def agreement_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    wants_csv = request.GET.get("format") == "csv"
    try:
        filters = agreement_filters(request.GET)
        if filters.fields:
            chosen_fields(agreement_schema(project), filters.fields[:1])  # an unknown field says so
        fresh = request.GET.get("fresh") == "1"
        dashboard = agreement_dashboard_cached(project, filters.without_fields(), fresh=fresh)
        if wants_csv:
            return _csv(project.name, dashboard, request.GET.get("table", "fields"), filters.fields[:1])
    except FlywheelError as exc:
        if wants_csv:
            return HttpResponse(f"{exc.message} {exc.hint}".strip(), status=400, content_type="text/plain")
        context = {**_form(project, AgreementFilters(), None), "error": exc.message, "hint": exc.hint}
        return render(request, TEMPLATE, context, status=exc.http_status)
    field = filters.fields[0] if filters.fields else (dashboard["field_order"] or [None])[0]
    context = {
        **_form(project, filters, field),
        "dashboard": dashboard,
        "computed": dashboard["computed_at"][:16].replace("T", " "),
        "summary": [
            {"report": dashboard["fields"][name], "link": _query(filters.query(field=name))}
            for name in dashboard["field_order"]
        ],
        "detail": _detail(dashboard["fields"][field]) if field else None,
        "boundary": _boundary(dashboard["boundary"]),
        "downloads": _downloads(project.pk, filters, field),
        "api_url": reverse("api-agreement", args=[project.pk]) + _query(filters.query(field=field or "")),
        "fresh_url": _query({**filters.query(field=field or ""), "fresh": "1"}),
        "reuse_seconds": settings.AGREEMENT_REUSE_SECONDS,
    }
    return render(request, TEMPLATE, context)


def _csv(project: str, dashboard: dict[str, Any], table: str, fields: tuple[str, ...]) -> HttpResponse:
    header, rows = dashboard_table(dashboard, table, list(fields) or None)
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    name = "-".join([project, "agreement", table, *fields])
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _query(params: dict[str, str]) -> str:
    return "?" + urlencode(params) if params else ""


def _downloads(project_id: int, filters: AgreementFilters, field: str | None) -> dict[str, str]:
    base = reverse("agreement", args=[project_id])
    query = filters.query(field=field or "")
    return {table: base + _query({**query, "format": "csv", "table": table}) for table in TABLES}


def _form(project: Any, filters: AgreementFilters, field: str | None) -> dict[str, Any]:
    """The filter form's choices and current values (dates as the date inputs want them)."""
    try:
        fields = [(f.name, f.label) for f in agreement_schema(project).fields]
    except FlywheelError:
        fields = []
    # Clusters that have tasks: EXISTS per cluster, not a join with every task made DISTINCT over
    # whole rows (centroids included: 1.5 s with 200,000 tasks).
    clusters = (
        Cluster.objects.filter(project=project)
        .filter(Exists(Task.objects.filter(cluster=OuterRef("pk"))))
        .only("number", "name", "custom_name")
        .order_by("number")
    )
    return {
        "project": project,
        "filters": filters,
        "field": field,
        "form": {
            "fields": fields,
            "sops": list(
                SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED)
                .order_by("-version")
                .values_list("version", flat=True)
            ),
            "clusters": [(c.number, c.label) for c in clusters],
            "sop": filters.sop_versions[0] if len(filters.sop_versions) == 1 else None,
            "cluster": filters.clusters[0] if len(filters.clusters) == 1 else None,
            "since": _day(filters.since, end=False),
            "until": _day(filters.until, end=True),
            "has_tasks": Task.objects.filter(project=project).exists(),
        },
    }


def _day(moment: datetime | None, *, end: bool) -> str:
    """A window bound as a date input's value; 'to' is inclusive on the page, exclusive inside."""
    if moment is None:
        return ""
    if moment.time() == time.min and end:
        moment -= timedelta(days=1)
    return moment.date().isoformat()


def _svg(text: str) -> str:
    # charts.py escapes every label and value it draws.
    return mark_safe(text)  # noqa: S308


def _detail(report: dict[str, Any]) -> dict[str, Any]:
    parts = []
    for choice, part in field_parts(report):
        maps = [("Cohen's kappa", part["cohen"])]
        for weights, pairwise in (part.get("cohen_weighted") or {}).items():
            maps.append((f"Cohen's kappa, {weights} weights", pairwise))
        parts.append(
            {
                "choice": choice,
                "report": part,
                "heatmaps": [(title, _svg(charts.heatmap_svg(p, title=title))) for title, p in maps],
                "trend": _svg(charts.trend_svg(part["weekly"])),
            }
        )
    block = report["annotators"]
    labels = block["labels"]
    confusions = [
        (row["annotator"], _svg(charts.confusion_svg(labels, row["confusion"], annotator=row["annotator"])))
        for row in block["rows"]
        if labels is not None and row["confusion"] is not None and row["n_ratings"]
    ]
    people = [
        {
            "row": row,
            "shares": [
                row[k] for k in ("consensus_agreement", "final_agreement", "gold_accuracy", "rejection_rate")
            ],
        }
        for row in block["rows"]
    ]
    return {"report": report, "parts": parts, "annotators": people, "confusions": confusions}


def _boundary(report: dict[str, Any]) -> dict[str, Any]:
    if "cohen" not in report:
        return {"report": report, "heatmap": None}
    return {
        "report": report,
        "heatmap": _svg(charts.heatmap_svg(report["cohen"], title="must_refuse, boundary")),
    }
