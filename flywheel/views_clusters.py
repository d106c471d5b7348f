"""Cluster pages for leads: the list, one cluster, the unclustered bucket."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from annotate.models import Role
from flywheel.models import Cluster, Failure
from flywheel.selectors.clusters import (
    SORTS,
    cluster_list,
    cluster_map,
    daily_counts,
    members,
    noise_count,
    rule_names,
)
from flywheel.views import project_for

PAGE_SIZE = 50


@require_safe
def clusters(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    sort = request.GET.get("sort", "size")
    rule = request.GET.get("rule", "")
    context = {
        "project": project,
        "clusters": cluster_list(project=project, sort=sort, rule=rule),
        "noise": noise_count(project),
        "sort": sort if sort in SORTS else "size",
        "sorts": list(SORTS),
        "rule": rule,
        "rules": rule_names(project),
        "map": cluster_map(project=project),
        "last_run": project.cluster_runs.first(),
    }
    return render(request, "flywheel/clusters.html", context)


@require_safe
def cluster_detail(request: HttpRequest, project_id: int, number: int | None = None) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    cluster = get_object_or_404(Cluster, project=project, number=number) if number is not None else None
    exemplars = []
    if cluster:
        by_pk = Failure.objects.select_related("trace").in_bulk(cluster.exemplars)
        exemplars = [by_pk[pk] for pk in cluster.exemplars if pk in by_pk]
    days = daily_counts(project=project, cluster=cluster)
    peak = max((n for _, n in days), default=0) or 1
    page = Paginator(members(project=project, cluster=cluster), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "cluster": cluster,
        "exemplars": exemplars,
        "bars": [
            {"day": day, "n": n, "x": 10 * i, "h": round(70 * n / peak), "y": 75 - round(70 * n / peak)}
            for i, (day, n) in enumerate(days)
        ],
        "total_30d": sum(n for _, n in days),
        "page": page,
        "map": cluster_map(project=project, current=cluster),
    }
    return render(request, "flywheel/cluster_detail.html", context)
