"""The annotator's screen: take the next task, read the SOP beside it, label from the keyboard."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotate import markdown
from annotate.models import Assignment, Role
from annotate.selectors import progress, returned_work, rework_of
from annotate.services import queue
from annotate.services.sops import sop_current
from flywheel.errors import Conflict, FlywheelError
from flywheel.models import Failure
from flywheel.views import project_for


@require_safe
def label_home(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.ANNOTATOR)
    held = queue.current_lease(project=project, user=request.user)
    if held is not None:
        return redirect("label-item", project_id=project.pk, assignment_id=held.pk)
    context = {
        "project": project,
        "progress": progress(project=project, user=request.user),
        "returned": returned_work(project=project, user=request.user),
    }
    try:
        context["sop"] = sop_current(project)
    except FlywheelError as exc:
        context["problem"] = str(exc)
    return render(request, "annotate/label_home.html", context)


@require_POST
def label_next(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.ANNOTATOR)
    try:
        lease = queue.next_task(project=project, user=request.user)
    except FlywheelError as exc:
        messages.error(request, str(exc))
        return redirect("label-home", project_id=project.pk)
    if lease is None:
        messages.info(request, "The queue is empty for you: every open task is done or taken. Well done.")
        return redirect("label-home", project_id=project.pk)
    return redirect("label-item", project_id=project.pk, assignment_id=lease.pk)


def _seconds(text: str | None) -> float:
    """The page's own timer value; anything but a finite, non-negative number counts as unknown (0)."""
    try:
        value = float(text or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


def form_values(fields: list[dict[str, Any]], data: QueryDict) -> dict[str, Any]:
    """The posted form as label values, by field type (the schema decides the shape)."""
    values: dict[str, Any] = {}
    for field in fields:
        key = f"f_{field['name']}"
        if field["type"] == "multi_choice":
            values[field["name"]] = data.getlist(key)
        elif field["type"] == "bool":
            values[field["name"]] = key in data
        elif data.get(key, "") != "":
            values[field["name"]] = data[key]
    return values


def widgets(
    fields: list[dict[str, Any]],
    values: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    model_answer: str,
    posted: bool,
) -> list[dict[str, Any]]:
    """Each field with what to show in it: the posted value, the prefill or the default."""
    shown = []
    for field in fields:
        name = field["name"]
        if posted:
            value = values.get(name)
        elif field.get("prefill") == "model_answer":
            value = model_answer
        else:
            value = field.get("default")
        if field["type"] == "multi_choice":
            value = list(value or [])
        shown.append({**field, "value": value, "errors": errors.get(name, [])})
    return shown


@require_http_methods(["GET", "HEAD", "POST"])
def label_item(request: HttpRequest, project_id: int, assignment_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.ANNOTATOR)
    assignment = get_object_or_404(
        Assignment.objects.select_related("task__trace", "task__cluster", "sop"),
        pk=assignment_id,
        annotator=request.user,
        task__project=project,
    )
    fields = assignment.sop.label_schema.get("fields", [])
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "submit")
        try:
            if action == "skip":
                queue.skip(
                    assignment_id=assignment.pk, user=request.user, reason=request.POST.get("reason", "")
                )
            else:
                values = form_values(fields, request.POST)
                seconds = _seconds(request.POST.get("seconds_spent"))
                queue.submit(
                    assignment_id=assignment.pk, user=request.user, values=values, seconds_spent=seconds
                )
            return label_next(request, project_id)
        except queue.LabelInvalid as exc:
            errors = exc.errors
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("label-home", project_id=project.pk)
        except FlywheelError as exc:
            errors = {"__all__": [str(exc)]}
    if assignment.status != Assignment.Status.LEASED:
        return redirect("label-home", project_id=project.pk)
    task = assignment.task
    rework = rework_of(assignment)
    if rework is not None and request.method != "POST":
        values = rework.values  # start from the label the lead sent back
    failure = Failure.objects.filter(trace=task.trace).select_related("cluster").first()
    generation = task.trace.observations.filter(type="GENERATION").order_by("-start_time").first()
    context = {
        "project": project,
        "assignment": assignment,
        "task": task,
        "trace": task.trace,
        "failure": failure,
        "generation": generation,
        "sop_html": markdown.render(assignment.sop.body),
        "rework": rework,
        "widgets": widgets(
            fields,
            values,
            errors,
            model_answer=task.model_answer,
            posted=request.method == "POST" or rework is not None,
        ),
        "errors": errors,
        "form_error": " ".join(errors.get("__all__", [])),
        "fields_json": fields,
        "progress": progress(project=project, user=request.user),
    }
    return render(request, "annotate/label.html", context, status=400 if errors else 200)
