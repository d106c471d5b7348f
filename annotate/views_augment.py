"""The leads' pages for growing the reviewed set: launch a recipe, review a run's rows beside their seeds.

Thin: parse the form, call :mod:`annotate.services.augment`, redirect. A recipe runs inside the
request only when it is small (:data:`PAGE_MAX_SEEDS` seeds, fewer when it calls a paraphrase
endpoint, and a reviewed set whose vectors are mostly cached); anything bigger is refused with
the command that runs it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotate.augment.recipe import TRANSFORMS, InvalidRecipe, parse_recipe
from annotate.models import AugmentRun, Role
from annotate.selectors_augment import ROW_STATUSES, augment_runs, preview, run_progress, run_rows
from annotate.services.augment import (
    BAD_ROUND,
    augment_run,
    proposed_accept,
    proposed_bulk_accept,
    proposed_discard,
)
from annotate.services.augment_build import run_summary
from flywheel.errors import FlywheelError, InvalidInput
from flywheel.views import project_for

PAGE_MAX_SEEDS = 20
PAGE_MAX_PARAPHRASE_SEEDS = 5  # each paraphrase may wait for the endpoint's timeout
PAGE_MAX_NEW_EMBEDDINGS = 2000  # ~12 s of MiniLM on two cores
PREVIEW_K = 10
ROWS_PER_PAGE = 50
BULK_CONFIRM = "Tick the box to confirm the bulk accept."
BULK_CHANGED = "The number of waiting rows changed since the page was shown; check it and confirm again."
FALLBACK_RECIPE = (
    "name: my-recipe\nseed: 1\nselect: {limit: 10}\nvariants:\n  - noise\n  - tone\n  - reorder\n"
)


@require_http_methods(["GET", "HEAD", "POST"])
def augment_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    errors: list[str] = []
    hint = ""
    text = request.POST.get("recipe", "") if request.method == "POST" else _demo_recipe()
    round_text = request.POST.get("round", "1") if request.method == "POST" else "1"
    if request.method == "POST":
        try:
            recipe = parse_recipe(text)
            round_ = _whole(round_text)
            limit = PAGE_MAX_PARAPHRASE_SEEDS if recipe.uses_paraphrase else PAGE_MAX_SEEDS
            run = augment_run(
                project=project,
                recipe=recipe,
                round=round_,
                user=request.user,
                max_seeds=limit,
                max_new_embeddings=PAGE_MAX_NEW_EMBEDDINGS,
            )
            messages.success(request, run_summary(run))
            return redirect("augment-run", project_id=project.pk, run_id=run.pk)
        except InvalidRecipe as exc:
            errors, hint = list(exc.problems), exc.hint
        except FlywheelError as exc:
            errors, hint = [exc.message], exc.hint
    context = {
        "project": project,
        "runs": augment_runs(project=project)[:100],
        "recipe_text": text,
        "round": round_text,
        "errors": errors,
        "hint": hint,
        "transforms": list(TRANSFORMS),
        "max_seeds": PAGE_MAX_SEEDS,
        "max_paraphrase_seeds": PAGE_MAX_PARAPHRASE_SEEDS,
        "paraphrase_on": bool(settings.PARAPHRASE_BASE_URL and settings.PARAPHRASE_MODEL),
    }
    return render(request, "annotate/augment.html", context)


@require_safe
def augment_run_page(request: HttpRequest, project_id: int, run_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    run = get_object_or_404(AugmentRun.objects.select_related("created_by"), pk=run_id, project=project)
    status = request.GET.get("status", "")
    status = status if status in ROW_STATUSES else ""
    page = Paginator(run_rows(run=run, status=status), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    counts = run.counts or {}
    context = {
        "project": project,
        "run": run,
        "counts": counts,
        "dropped": sorted((counts.get("dropped") or {}).items(), key=lambda item: -item[1]),
        "progress": run_progress(run=run),
        "preview": preview(project=project, run=run, k=PREVIEW_K),
        "page": page,
        "status": status,
        "statuses": ROW_STATUSES,
        "recipe": (run.params or {}).get("recipe"),
    }
    return render(request, "annotate/augment_run.html", context)


@require_POST
def augment_decide(request: HttpRequest, project_id: int, sample_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    action = request.POST.get("action", "")
    comment = request.POST.get("comment", "")[:2000]
    back = request.POST.get("run", "")
    try:
        if action == "discard":
            sample = proposed_discard(
                project=project, sample_id=sample_id, reviewer=request.user, comment=comment
            )
            messages.success(request, f"Discarded {sample.item_key}.")
        else:
            sample = proposed_accept(
                project=project, sample_id=sample_id, reviewer=request.user, comment=comment
            )
            messages.success(request, f"Accepted {sample.item_key}: it is part of the reviewed set.")
    except FlywheelError as exc:
        messages.error(request, str(exc))
    if back.isdigit():
        return redirect(reverse("augment-run", args=[project.pk, int(back)]) + "#preview")
    return redirect("augment", project_id=project.pk)


@require_POST
def augment_bulk_accept(request: HttpRequest, project_id: int, run_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    run = get_object_or_404(AugmentRun, pk=run_id, project=project)
    target = reverse("augment-run", args=[project.pk, run.pk])
    if request.POST.get("confirm") != "on":
        messages.error(request, BULK_CONFIRM)
        return redirect(target)
    if request.POST.get("expected", "") != str(run_progress(run=run).waiting):
        messages.error(request, BULK_CHANGED)
        return redirect(target)
    try:
        accepted = proposed_bulk_accept(project=project, run_id=run.pk, reviewer=request.user)
        messages.success(request, f"Accepted the {accepted} remaining row(s) of run {run.pk}.")
    except FlywheelError as exc:
        messages.error(request, str(exc))
    return redirect(target)


def _whole(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise InvalidInput(BAD_ROUND.format(value=repr(text[:20]))) from None


def _demo_recipe() -> str:
    path = Path(settings.BASE_DIR) / "fixtures" / "demo_recipe.yaml"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return FALLBACK_RECIPE
