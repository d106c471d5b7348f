"""Pages for people. Thin: look up, check the role, render."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from annotate.access import has_role, project_with_role, projects_for, role_in
from annotate.models import Role
from flywheel.models import Failure, Project, Quarantine, SyncRun, Trace

PAGE_SIZE = 50


def project_for(request: HttpRequest, project_id: int, at_least: Role) -> Project:
    project = project_with_role(project_id=project_id, user=request.user)
    if project is None or not has_role(user=request.user, project=project, at_least=at_least):
        raise Http404("No such project, or you are not a member of it.")
    return project


def _count(rows: QuerySet[Any]) -> Coalesce:
    return Coalesce(Subquery(rows.order_by().values("project").annotate(n=Count("pk")).values("n")), 0)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    # One count subquery each: joining both tables and counting DISTINCT multiplies their rows
    # (a million traces took half a second).
    projects = projects_for(user=request.user).annotate(
        trace_count=_count(Trace.objects.filter(project=OuterRef("pk"))),
        quarantined=_count(Quarantine.objects.filter(project=OuterRef("pk"))),
    )
    return render(request, "flywheel/home.html", {"projects": projects})


@require_safe
def trace_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.ANNOTATOR)
    traces = Trace.objects.filter(project=project).order_by("-timestamp", "-id")
    query = request.GET.get("q", "").strip()
    if query:
        traces = traces.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
    page = Paginator(
        traces.only(
            "id",
            "external_id",
            "name",
            "user_id",
            "timestamp",
            "environment",
            "latency_ms",
            "total_cost",
            "tags",
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "page": page,
        "query": query,
        "role": role_in(user=request.user, project=project),
    }
    return render(request, "flywheel/trace_list.html", context)


@require_safe
def trace_detail(request: HttpRequest, project_id: int, trace_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.ANNOTATOR)
    trace = get_object_or_404(
        Trace.objects.select_related("source").prefetch_related("observations", "scores"),
        pk=trace_id,
        project=project,
    )
    failure = Failure.objects.filter(trace=trace).select_related("cluster", "duplicate_of").first()
    context = {"project": project, "trace": trace, "failure": failure}
    return render(request, "flywheel/trace_detail.html", context)


@require_safe
def sync_runs(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    runs = SyncRun.objects.filter(source__project=project).select_related("source")[:100]
    rejects = Quarantine.objects.filter(project=project).select_related("source")[:100]
    return render(request, "flywheel/sync_runs.html", {"project": project, "runs": runs, "rejects": rejects})


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and the nightly's monitors."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok", "database": "ok"})
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
