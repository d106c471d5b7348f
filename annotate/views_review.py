"""The leads' review pages: the queue, one item side by side with its actions, outdated items.

Thin: parse the form, call :mod:`annotate.services.review`, redirect to the next item. Every
action is a plain form POST (the keyboard shortcuts in review.js only press these buttons).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotate.models import Role, Task
from annotate.selectors_review import (
    QueueFilters,
    ReviewItem,
    next_in_queue,
    outdated_items,
    outdated_rows,
    queue_position,
    queue_rows,
    queue_sop_versions,
    review_counts,
    review_item,
    review_queue,
)
from annotate.services import review
from annotate.services.common import LabelInvalid
from annotate.services.sops import sop_current
from annotate.views import form_values, widgets
from flywheel.errors import FlywheelError, InvalidInput, NotFound
from flywheel.models import Cluster, Project
from flywheel.views import project_for

PAGE_SIZE = 50
EMPTY = "The review queue is empty{scope}: every labeled item has its final label."
BULK_CHANGED = "The bucket changed since the page was shown; check the new count and confirm again."
BULK_CONFIRM = "Tick the box to confirm the bulk accept."
NOTHING_SELECTED = "Select the items to re-queue, or re-queue all."


def _query(filters: QueueFilters, **extra: Any) -> str:
    params = {**filters.as_query(), **{k: v for k, v in extra.items() if v is not None}}
    return f"?{urlencode(params)}" if params else ""


@require_safe
def review_queue_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    filters = QueueFilters.from_query(request.GET)
    page = Paginator(review_queue(project=project, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = review_counts(project=project, filters=filters)
    first = next_in_queue(project=project, filters=filters)
    tabs = [
        {
            "value": b.value,
            "label": b.label,
            "count": counts[b.value],
            "query": _query(filters, bucket=b.value),
        }
        for b in Task.Bucket
    ]
    context = {
        "project": project,
        "filters": filters,
        "query": _query(filters),
        "all_query": _query(filters.without_bucket()),
        "tabs": tabs,
        "total": sum(counts.values()),
        "page": page,
        "rows": queue_rows(page.object_list),
        "first": first,
        "clusters": Cluster.objects.filter(project=project, tasks__review=Task.Review.PENDING)
        .distinct()
        .order_by("number"),
        "sop_versions": queue_sop_versions(project=project),
        "bulk_count": counts[filters.bucket] if filters.bucket in (1, 2) else 0,
        "outdated": outdated_items(project=project).count(),
    }
    return render(request, "annotate/review_queue.html", context)


@require_POST
def review_bulk_accept_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    filters = QueueFilters.from_query(request.POST)
    back = reverse("review-queue", args=[project.pk]) + _query(filters)
    expected = _int(request.POST.get("expected"))
    if filters.bucket not in (Task.Bucket.SAMPLED, Task.Bucket.REST) or expected < 1:
        messages.error(request, "Choose the bucket of single-annotated items to accept.")
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        messages.error(request, BULK_CONFIRM)
        return redirect(back)
    if review_counts(project=project, filters=filters)[filters.bucket] != expected:
        messages.error(request, BULK_CHANGED)
        return redirect(back)
    ids = list(review_queue(project=project, filters=filters).values_list("pk", flat=True)[:expected])
    done = review.review_bulk_accept(project=project, reviewer=request.user, task_ids=ids)
    messages.success(request, f"Accepted {done} single-annotated item(s) as labeled.")
    return redirect(back)


@require_http_methods(["GET", "HEAD", "POST"])
def review_item_page(request: HttpRequest, project_id: int, task_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    filters = QueueFilters.from_query(request.GET)
    try:
        item = review_item(project=project, task_id=task_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    fix: dict[str, Any] = {"values": None, "errors": {}, "open": False, "comment": "", "from": None}
    problem, status = "", 200
    if request.method == "POST":
        try:
            done = _decide(request, project, item)
            messages.success(request, done)
            return _to_next(project, filters, item.task)
        except LabelInvalid as exc:
            fields = item.sop.label_schema.get("fields", [])
            fix = {
                "values": form_values(fields, request.POST),
                "errors": exc.errors,
                "open": True,
                "comment": request.POST.get("comment", ""),
                "from": request.POST.get("based_on"),
            }
            problem, status = exc.message, 400
        except FlywheelError as exc:
            problem, status = str(exc), 409 if exc.http_status == 409 else 400
            item = review_item(project=project, task_id=task_id)  # show what changed
    return render(
        request,
        "annotate/review_item.html",
        _item_context(request, project, filters, item, fix, problem),
        status=status,
    )


def _decide(request: HttpRequest, project: Project, item: ReviewItem) -> str:
    """Runs the posted action; returns what to tell the lead."""
    action = request.POST.get("action", "")
    comment = request.POST.get("comment", "").strip()
    task_id = item.task.pk
    chosen = _int(request.POST.get("annotation"))
    by = {v.annotation.pk: v.annotation.annotator.get_username() for v in item.votes}
    if action == "accept":
        review.review_accept(
            project=project, task_id=task_id, annotation_id=chosen, reviewer=request.user, comment=comment
        )
        return f"Task {task_id}: accepted {by.get(chosen, 'the annotator')}'s label."
    if action == "fix":
        values = form_values(item.sop.label_schema.get("fields", []), request.POST)
        review.review_fix(
            project=project,
            task_id=task_id,
            values=values,
            reviewer=request.user,
            comment=comment,
            based_on=_int(request.POST.get("based_on")) or None,
        )
        return f"Task {task_id}: your fixed label is final."
    if action == "reject":
        review.review_reject(
            project=project, task_id=task_id, annotation_id=chosen, reviewer=request.user, comment=comment
        )
        return f"Task {task_id}: sent back to {by.get(chosen, 'the annotator')} with your comment."
    if action == "reopen":
        review.review_reopen(project=project, task_id=task_id, reviewer=request.user, comment=comment)
        return f"Task {task_id}: reopened; it waits in the review queue for a new decision."
    if action == "discard":
        review.review_discard(project=project, task_id=task_id, reviewer=request.user, comment=comment)
        return f"Task {task_id}: discarded; no release will carry it."
    raise InvalidInput(f"Unknown action {action[:20]!r}: use accept, fix, reject, reopen or discard.")


def _int(value: Any) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else 0


def _to_next(project: Project, filters: QueueFilters, after: Task) -> HttpResponse:
    after.refresh_from_db(fields=["review"])
    nxt = next_in_queue(project=project, filters=filters, after=after)
    if nxt is None:
        return redirect(reverse("review-queue", args=[project.pk]) + _query(filters))
    return redirect(reverse("review-item", args=[project.pk, nxt.pk]) + _query(filters))


def _item_context(
    request: HttpRequest,
    project: Project,
    filters: QueueFilters,
    item: ReviewItem,
    fix: dict[str, Any],
    problem: str,
) -> dict[str, Any]:
    task = item.task
    fields = item.sop.label_schema.get("fields", [])
    start = _int(fix["from"] or request.GET.get("from"))
    base = next((v.annotation for v in item.votes if v.annotation.pk == start), None)
    base = base or (item.votes[0].annotation if item.votes else None)
    values = fix["values"] if fix["values"] is not None else (dict(base.values) if base else {})
    posted = fix["values"] is not None or base is not None
    position, total = queue_position(project=project, filters=filters, task=task)
    nxt = next_in_queue(project=project, filters=filters, after=task)
    return {
        "project": project,
        "item": item,
        "task": task,
        "trace": task.trace,
        "query": _query(filters),
        "position": position,
        "total": total,
        "next": nxt,
        "columns": [_column(i, v, filters) for i, v in enumerate(item.votes)],
        "rows": [_row(r) for r in item.rows],
        "fix_widgets": widgets(fields, values, fix["errors"], model_answer=task.model_answer, posted=posted),
        "fix_open": fix["open"] or bool(request.GET.get("from")),
        "fix_from": base.pk if base else None,
        "fix_comment": fix["comment"],
        "problem": problem,
        "votes_json": {str(v.annotation.pk): v.annotation.values for v in item.votes},
        "reject_for": _int(request.POST.get("annotation")) if request.POST.get("action") == "reject" else 0,
        "bucket_label": Task.Bucket(task.review_bucket).label,
    }


def _column(index: int, vote: Any, filters: QueueFilters) -> dict[str, Any]:
    a = vote.annotation
    return {
        "fix_href": _query(filters, **{"from": a.pk}) + "#fix",
        "index": index,
        "key": index + 1 if index < 9 else None,
        "annotation": a,
        "annotator": a.annotator.get_username(),
        "sop_version": a.sop.version,
        "seconds": a.seconds_spent,
        "diff": vote.answer_diff,
    }


def _row(row: Any) -> dict[str, Any]:
    cells = [
        {"text": _shown(value), "long": isinstance(value, str) and len(value) > 80, "minority": minority}
        for value, minority in zip(row.values, row.minority, strict=True)
    ]
    return {"name": row.name, "label": row.label, "type": row.type, "differs": row.differs, "cells": cells}


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@require_http_methods(["GET", "HEAD", "POST"])
def review_outdated_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    if request.method == "POST":
        selected = [int(t) for t in request.POST.getlist("tasks") if t.isdigit()]
        everything = request.POST.get("scope") == "all"
        if not everything and not selected:
            messages.error(request, NOTHING_SELECTED)
        else:
            try:
                done = review.requeue(
                    project=project, user=request.user, task_ids=None if everything else selected
                )
                messages.success(
                    request, f"Re-queued {done} item(s) under the current SOP; annotators get them next."
                )
            except FlywheelError as exc:
                messages.error(request, str(exc))
        return redirect("review-outdated", project_id=project.pk)
    context: dict[str, Any] = {"project": project, "rows": [], "page": None}
    try:
        context["current"] = sop_current(project)
        page = Paginator(outdated_items(project=project), PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(page=page, rows=outdated_rows(page.object_list))
    except FlywheelError as exc:
        context["problem"] = str(exc)
    return render(request, "annotate/review_outdated.html", context)
