"""Raw annotations for offline analysis: every status and round, streamed in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator

from annotate.agreement_filters import AgreementFilters
from annotate.annotations_file import ExportRow
from annotate.models import SOP
from annotate.selectors_agreement import CHUNK, filtered_annotations
from annotate.services.sops import sop_schema
from flywheel.models import Project

EXPORT_COLUMNS = (
    "pk",
    "task_id",
    "task__trace__external_id",
    "task__kind",
    "task__trace__source__name",
    "annotator__username",
    "sop__version",
    "round",
    "status",
    "created_at",
    "seconds_spent",
    "values",
    "lineage",
)


def export_fields(project: Project) -> list[str]:
    """Field names of every published SOP version, the newest one's first (in its order), then older ones'."""
    names: dict[str, None] = {}
    for sop in SOP.objects.filter(project=project, status=SOP.Status.PUBLISHED).order_by("-version"):
        for name in sop_schema(sop).names:
            names.setdefault(name, None)
    return list(names)


def annotation_count(*, project: Project, filters: AgreementFilters) -> int:
    return filtered_annotations(project, filters).count()


def annotation_rows(*, project: Project, filters: AgreementFilters) -> Iterator[ExportRow]:
    """One row per annotation in the filters, oldest first; no model instance per annotation."""
    rows = filtered_annotations(project, filters).order_by("pk").values_list(*EXPORT_COLUMNS)
    for (
        _,
        task,
        trace_id,
        kind,
        source,
        annotator,
        sop_version,
        round_,
        status,
        created_at,
        seconds,
        values,
        lineage,
    ) in rows.iterator(chunk_size=CHUNK):
        yield ExportRow(
            task=task,
            trace_id=trace_id,
            kind=kind,
            source=source,
            annotator=annotator,
            sop_version=sop_version,
            round=round_,
            status=status,
            submitted_at=created_at,
            seconds=seconds,
            values=values if isinstance(values, dict) else {},
            lineage=lineage if isinstance(lineage, dict) else {},
        )
