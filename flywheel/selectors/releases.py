"""Reads about releases: the list, one release, new labels since the last, and a cheap preview."""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any

from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.functions import Coalesce

from annotate.models import Sample
from flywheel.errors import NotFound
from flywheel.export import ReleaseQuery
from flywheel.export.manifest import mix_report
from flywheel.export.records import UNCLUSTERED, iso
from flywheel.models import Project, Release
from flywheel.services.export_samples import (
    cluster_of,
    final_samples,
    policy_for,
    sample_type_of,
    task_type_of,
)

NO_RELEASE = "Project '{project}' has no release v{number}."
PREVIEW_CHECKS = (
    "De-duplication, the JSON/schema check of golden answers, the PII re-scan and the leak check "
    "read every text; they run with the command (add --dry-run to run them without publishing)."
)
TOO_FEW = (
    "{matched} final samples match, fewer than the minimum of {minimum} (the command refuses without --force)"
)


def release_list(project: Project) -> QuerySet[Release]:
    return (
        Release.objects.filter(project=project)
        .select_related("created_by", "predecessor")
        .order_by("-number")
    )


def release_get(project: Project, number: int) -> Release:
    release = (
        Release.objects.filter(project=project, number=number)
        .select_related("created_by", "predecessor")
        .first()
    )
    if release is None:
        raise NotFound(NO_RELEASE.format(project=project.name, number=number))
    return release


def final_labels_since_last_release(project: Project) -> int:
    """Final samples decided after the newest release was created (all of them before the first)."""
    last = Release.objects.filter(project=project).order_by("-number").first()
    samples = Sample.objects.filter(project=project, status=Sample.Status.FINAL)
    if last is None:
        return samples.count()
    return (
        samples.annotate(when=Coalesce("decided_at", "created_at")).filter(when__gt=last.created_at).count()
    )


def export_command(project: Project, query: ReleaseQuery) -> str:
    """The command line that exports ``query`` (what the page tells a lead to run)."""
    args = ["python", "manage.py", "export_release", "--project", project.name]
    if query.since:
        args += ["--since", str(iso(query.since))]
    if query.until:
        args += ["--until", str(iso(query.until))]
    for flag, values in (
        ("--clusters", query.clusters),
        ("--sample-types", query.sample_types),
        ("--sop-versions", query.sop_versions),
    ):
        if values:
            args += [flag, ",".join(map(str, values))]
    return shlex.join(args)


def release_preview(project: Project, query: ReleaseQuery) -> dict[str, Any]:
    """What ``query`` selects and the checks that need no texts: sample count and mix.

    Reads only small columns (lineage, label, SOP version), so it is fine for a page even on a
    large project; the checks that read every text are the command's (``PREVIEW_CHECKS``).
    """
    _, policy = policy_for(project)
    rows = (
        final_samples(project, query)
        .annotate(
            sop_number=F("sop__version"),
            rejected=Case(When(rejected_answer="", then=Value(False)), default=Value(True)),
        )
        .values_list("lineage", "values", "rejected", "sop_number")
    )
    candidates = 0
    by: dict[str, Counter[str]] = {"sample_type": Counter(), "task_type": Counter(), "cluster": Counter()}
    for lineage, values, rejected, sop_number in rows.iterator(chunk_size=2000):
        candidates += 1
        lineage, values = lineage or {}, values or {}
        sample_type = sample_type_of(lineage, values, rejected=bool(rejected))
        cluster = cluster_of(lineage)
        sop_version = lineage.get("sop_version") or sop_number
        if query.clusters and (cluster or UNCLUSTERED) not in query.clusters:
            continue
        if query.sample_types and sample_type not in query.sample_types:
            continue
        if query.sop_versions and sop_version not in query.sop_versions:
            continue
        by["sample_type"][sample_type] += 1
        by["task_type"][task_type_of(lineage, values)] += 1
        by["cluster"][cluster or UNCLUSTERED] += 1
    matched = sum(by["sample_type"].values())
    mix, warnings = mix_report(by["sample_type"], policy.mix_target, policy.mix_margin)
    problems = (
        [TOO_FEW.format(matched=matched, minimum=policy.min_samples)] if matched < policy.min_samples else []
    )
    last = Release.objects.filter(project=project).order_by("-number").first()
    return {
        "next_release": f"{project.name}-v{(last.number if last else 0) + 1}",
        "last_release": last.release_id if last else None,
        "query": query.to_dict(),
        "candidates": candidates,
        "matched": matched,
        "minimum": policy.min_samples,
        "new_since_last": final_labels_since_last_release(project),
        "by": {name: dict(counter.most_common()) for name, counter in by.items()},
        "mix": mix,
        "warnings": warnings,
        "problems": problems,
        "not_checked": PREVIEW_CHECKS,
        "command": export_command(project, query),
    }
