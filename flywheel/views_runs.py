"""Pages for leads: training runs (the list, one run, the files a run wrote)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from annotate.models import Role
from flywheel.models import TrainingRun
from flywheel.selectors.training import (
    RUN_FILES,
    run_file,
    training_run_detail,
    training_run_list,
    training_run_rows,
)
from flywheel.views import project_for

PAGE_SIZE = 50


@require_safe
def training_runs(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    page = Paginator(training_run_list(project=project), PAGE_SIZE).get_page(request.GET.get("page"))
    columns, rows = training_run_rows(list(page))
    context = {"project": project, "page": page, "columns": columns, "rows": rows}
    return render(request, "flywheel/training_runs.html", context)


@require_safe
def training_run(request: HttpRequest, project_id: int, run_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    run = get_object_or_404(TrainingRun.objects.select_related("release"), project=project, pk=run_id)
    context = {"project": project, "run": run, "detail": training_run_detail(run)}
    return render(request, "flywheel/training_run.html", context)


@require_safe
def training_run_file(request: HttpRequest, project_id: int, run_id: int, name: str) -> FileResponse:
    project = project_for(request, project_id, Role.LEAD)
    run = get_object_or_404(TrainingRun, project=project, pk=run_id)
    path = run_file(run, name)
    if path is None:
        raise Http404("No such file in this run's directory.")
    return FileResponse(path.open("rb"), content_type=RUN_FILES[name], as_attachment=False)
