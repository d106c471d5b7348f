"""Release pages for leads: the list, one release (manifest and data card), the archive, a preview form.

The form previews what a query selects and the checks that need no texts; it publishes nothing.
Building a release reads and embeds every sample and re-scans every text for PII: minutes on a
large project, too long for a web request, and there is no job queue to hand it to. The page
gives the exact command (with ``--dry-run`` for the full checks), which the nightly job also runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_safe

from annotate.models import SOP, Role
from flywheel.errors import InvalidInput, NotFound
from flywheel.export.archive import archive_members, tar_gz_stream
from flywheel.export.records import DEFAULT_MIX, parse_query
from flywheel.models import Cluster, Project, Release
from flywheel.paths import is_inside
from flywheel.selectors.releases import (
    final_labels_since_last_release,
    release_get,
    release_list,
    release_preview,
)
from flywheel.views import project_for

PAGE_SIZE = 50
TOP = 20
GONE = "The directory of {release} is gone from disk ({path}); the record stays, the files cannot be served."
CHANGED = "The files of {release} changed on disk since it was published (manifest.json differs); not served."
ESCAPED = (
    "A file of {release} is missing, or is a link out of the release directory; not served. "
    "Publish a new release."
)
QUERY_FIELDS = ("since", "until", "clusters", "sample_types", "sop_versions")


def _release(project: Project, number: int) -> Release:
    try:
        return release_get(project, number)
    except NotFound as exc:
        raise Http404(exc.message) from None


@require_safe
def releases(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    page = Paginator(release_list(project), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"project": project, "page": page, "new_labels": final_labels_since_last_release(project)}
    return render(request, "flywheel/releases.html", context)


@require_safe
def release_detail(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    release = _release(project, number)
    root = Path(release.path)
    card = (root / "README.md").read_text(encoding="utf-8") if (root / "README.md").is_file() else None
    context = {
        "project": project,
        "release": release,
        "m": release.manifest,
        "view": _display(release.manifest),
        "card": card,
        "on_disk": (root / "manifest.json").is_file(),
    }
    return render(request, "flywheel/release_detail.html", context)


@require_safe
def release_download(request: HttpRequest, project_id: int, number: int) -> HttpResponseBase:
    project = project_for(request, project_id, Role.LEAD)
    return archive_response(_release(project, number))


def archive_response(release: Release) -> HttpResponseBase:
    """The release as ``<release_id>.tar.gz``, streamed; refused when the files are gone or changed."""
    root = Path(release.path)
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return HttpResponse(
            GONE.format(release=release.release_id, path=root), status=410, content_type="text/plain"
        )
    if hashlib.sha256(manifest.read_bytes()).hexdigest() != release.manifest_sha256:
        return HttpResponse(CHANGED.format(release=release.release_id), status=409, content_type="text/plain")
    if any(not _served_safely(root, name) for name in archive_members(root)):
        return HttpResponse(ESCAPED.format(release=release.release_id), status=409, content_type="text/plain")
    stream = tar_gz_stream(root, arcname=release.release_id, mtime=int(release.created_at.timestamp()))
    response = StreamingHttpResponse(stream, content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{release.release_id}.tar.gz"'
    return response


def _served_safely(root: Path, name: str) -> bool:
    """A member of the archive: a regular file whose real path lies inside the release directory."""
    path = root / name
    return is_inside(root, path) and path.is_file()


@require_safe
def release_new(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, Role.LEAD)
    values = {name: request.GET.get(name, "").strip() for name in QUERY_FIELDS}
    preview, error = None, None
    if "preview" in request.GET:
        try:
            preview = release_preview(project, parse_query(**values))
        except InvalidInput as exc:
            error = str(exc)
    context = {
        "project": project,
        "values": values,
        "preview": preview,
        "preview_mix": mix_rows(preview["mix"]) if preview else [],
        "error": error,
        "clusters": Cluster.objects.filter(project=project, active=True).order_by("number"),
        "sample_types": list(DEFAULT_MIX),
        "sop_versions": SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED).order_by("version"),
    }
    return render(request, "flywheel/release_new.html", context)


def _top(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]


def _totals(by_split: dict[str, Any], name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for slices in by_split.values():
        for key, n in slices.get(name, {}).items():
            out[key] = out.get(key, 0) + n
    return out


def mix_rows(mix: dict[str, Any]) -> list[dict[str, Any]]:
    off = set(mix.get("off", []))
    return [
        {
            "name": name,
            "count": row["count"],
            "share": row["share"],
            "target": row["target"],
            "width": round(100 * row["share"]),
            "target_left": round(100 * row["target"]) if row["target"] is not None else None,
            "off": name in off,
        }
        for name, row in mix.get("types", {}).items()
    ]


def _display(m: dict[str, Any]) -> dict[str, Any]:
    """The manifest reshaped into the tables of the release page."""
    counts = m.get("counts", {})
    by_split = counts.get("by_split", {})
    agreement = m.get("agreement") or {}
    return {
        "splits": [
            {
                "name": s,
                "items": counts.get("sft", {}).get(s, 0),
                "dpo": counts.get("dpo", {}).get(s, 0),
                "hard": by_split.get(s, {}).get("difficulty", {}).get("hard", 0),
                "alpaca": counts.get("llamafactory", {})
                .get("rows", {})
                .get("sft" if s == "train" else "sft-val"),
            }
            for s in ("train", "val", "test")
        ],
        "mix": mix_rows(m.get("mix", {})),
        "task_types": _top(_totals(by_split, "task_type")),
        "clusters": _top(_totals(by_split, "cluster")),
        "difficulty": _top(_totals(by_split, "difficulty")),
        "agreement_fields": [
            {
                "name": name,
                "alpha": report.get("alpha") or {},
                "percent": report.get("percent_agreement") or {},
            }
            for name, report in (agreement.get("fields") or {}).items()
        ],
        "files": sorted((m.get("files") or {}).items()),
    }
