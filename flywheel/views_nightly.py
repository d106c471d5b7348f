"""Pages for the nightly job: its runs with their step-by-step summaries (leads)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from annotate.models import Role
from flywheel.models import NightlyRun
from flywheel.nightly import in_order
from flywheel.services.nightly import STEP_TITLES
from flywheel.views import project_for


def _steps(run: NightlyRun) -> list[dict[str, object]]:
    return [
        {"name": name, "title": STEP_TITLES.get(name, name), **entry}
        for name, entry in in_order(run.steps or {})
    ]


@require_safe
def nightly_runs(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    runs = list(NightlyRun.objects.filter(project=project)[:100])
    rows = [{"run": run, "steps": _steps(run)} for run in runs]
    return render(request, "flywheel/nightly_runs.html", {"project": project, "rows": rows})


@require_safe
def nightly_run_detail(request: HttpRequest, project_id: int, run_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    run = get_object_or_404(NightlyRun, pk=run_id, project=project)
    return render(
        request, "flywheel/nightly_run.html", {"project": project, "run": run, "steps": _steps(run)}
    )
