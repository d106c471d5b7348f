"""SOP pages for leads: versions, the draft editor, publish, diff. Annotators read the current one."""

from __future__ import annotations

import yaml
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotate import markdown
from annotate.access import has_role
from annotate.labeling import DEFAULT_SCHEMA_YAML, DEFAULT_SOP_MARKDOWN
from annotate.models import SOP, Role
from annotate.services.sops import sop_publish, sop_save_draft, sop_versions_diff
from annotate.services.tasks import tasks_create
from flywheel.errors import FlywheelError
from flywheel.views import project_for


@require_http_methods(["GET", "HEAD", "POST"])
def sop_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.ANNOTATOR)
    is_lead = has_role(user=request.user, project=project, at_least=Role.LEAD)
    if request.method == "POST" and not is_lead:
        # Annotators read the SOP; writing it is the leads'. Refused like any lead page, not ignored.
        raise Http404("No such project, or you are not a lead of it.")
    versions = list(SOP.objects.filter(project=project))
    published = [s for s in versions if s.status == SOP.Status.PUBLISHED]
    draft = next((s for s in versions if s.status == SOP.Status.DRAFT), None)
    errors: list[str] = []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "publish" and draft is not None:
                sop_publish(sop=draft)
                messages.success(request, f"SOP v{draft.version} is published; new leases follow it.")
            else:
                sop_save_draft(
                    project=project,
                    user=request.user,
                    title=request.POST.get("title", "Labeling SOP")[:200],
                    body=request.POST.get("body", ""),
                    label_schema=request.POST.get("label_schema", ""),
                )
                messages.success(request, "Draft saved.")
            return redirect("sop", project_id=project.pk)
        except FlywheelError as exc:
            errors = [exc.message, *getattr(exc, "problems", ())]
    current = published[0] if published else None
    base = draft or current
    context = {
        "project": project,
        "is_lead": is_lead,
        "current": current,
        "current_html": markdown.render(current.body) if current else "",
        "versions": versions,
        "draft": draft,
        "errors": errors,
        "form": {
            "title": request.POST.get("title") if errors else (base.title if base else "Labeling SOP"),
            "body": request.POST.get("body") if errors else (base.body if base else DEFAULT_SOP_MARKDOWN),
            "label_schema": request.POST.get("label_schema") if errors else _schema_text(base),
        },
    }
    return render(request, "annotate/sop.html", context)


def _schema_text(sop: SOP | None) -> str:
    if sop is None:
        return DEFAULT_SCHEMA_YAML
    return yaml.safe_dump(sop.label_schema, sort_keys=False, allow_unicode=True)


@require_safe
def sop_diff_page(request: HttpRequest, project_id: int, old: int, new: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    sops = SOP.objects.filter(project=project)
    diff = sop_versions_diff(get_object_or_404(sops, version=old), get_object_or_404(sops, version=new))
    return render(
        request, "annotate/sop_diff.html", {"project": project, "old": old, "new": new, "diff": diff}
    )


@require_POST
def create_tasks(request: HttpRequest, project_id: int) -> HttpResponse:
    """The cluster page's 'create tasks' form: chosen clusters x N diverse items, or all new."""
    project = project_for(request, project_id, Role.LEAD)
    if request.method == "POST":
        try:
            created = tasks_create(
                project=project,
                user=request.user,
                clusters=[int(n) for n in request.POST.getlist("clusters") if n.isdigit()],
                per_cluster=max(1, int(request.POST.get("per_cluster") or 20)),
                all_new=request.POST.get("all_new") == "on",
            )
            messages.success(request, f"{created} labeling task(s) created.")
        except (FlywheelError, ValueError) as exc:
            messages.error(request, str(exc))
    return redirect("clusters", project_id=project.pk)
