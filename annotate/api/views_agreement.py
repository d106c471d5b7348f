"""Agreement API (leads and admins): the dashboard's numbers, annotator stats, raw annotations out and in."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import IO

from django.core.exceptions import RequestDataTooBig
from django.http import StreamingHttpResponse
from django.http.request import RawPostDataException
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.agreement_filters import agreement_filters
from annotate.annotations_file import FileFormat, export_lines, parse_format, read_rows, sniff_format
from annotate.models import Role
from annotate.selectors_annotations import annotation_rows, export_fields
from annotate.services.agreement import agreement_dashboard_cached, annotator_overview
from annotate.services.annotation_import import ImportRejected, annotations_import
from flywheel.api.permissions import ProjectRole, project_from
from flywheel.errors import InvalidInput

NO_FILE = "Send the annotations as the request body (CSV or JSON) or as a multipart file named 'file'."
TOO_BIG = (
    "The request body is larger than the server accepts in one piece; upload it as a multipart file "
    "named 'file', or run manage.py annotations import on the server."
)

FILTERS = [
    OpenApiParameter("field", str, description="A field of the label schema (repeat or comma-separate)."),
    OpenApiParameter("sop", str, description="SOP version(s) the annotations followed, e.g. 2,3."),
    OpenApiParameter("cluster", str, description="Cluster number(s), e.g. C12."),
    OpenApiParameter("from", str, description="Submitted on or after: a date (UTC) or an ISO 8601 time."),
    OpenApiParameter(
        "to", str, description="Submitted up to: a date (inclusive) or an ISO 8601 time (exclusive)."
    ),
]
FRESH = OpenApiParameter("fresh", str, enum=["1"], description="1: recompute instead of the cached result.")


class LeadsOnly(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD


class Agreement(LeadsOnly):
    """Every statistic of the dashboard page, as JSON (shape: ``annotate.services.agreement``)."""

    @extend_schema(parameters=[*FILTERS, FRESH], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        filters = agreement_filters(request.query_params)
        fresh = request.query_params.get("fresh") == "1"
        return Response(agreement_dashboard_cached(project_from(self), filters, fresh=fresh))


class Annotators(LeadsOnly):
    """Per annotator: pace, rejections, and per field agreement with consensus, final labels and gold."""

    @extend_schema(parameters=FILTERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        return Response(annotator_overview(project_from(self), agreement_filters(request.query_params)))


class _FormatIsOurs(BaseContentNegotiation):
    """``?format=`` names the file format here, not a DRF renderer; errors still render as JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        content_type = request.content_type or ""
        return next((p for p in parsers if content_type.startswith(p.media_type)), None)


class Export(LeadsOnly):
    """Every annotation (all statuses and rounds) as CSV or JSON, streamed; filters as on the dashboard."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FormatIsOurs

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["csv", "json"], description="Default csv."),
            *FILTERS[1:],
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            # An array of rows, one object per annotation (not one object).
            (200, "application/json"): {
                "type": "array",
                "items": {"type": "object", "additionalProperties": {}},
            },
        },
    )
    def get(self, request: Request, project_id: int) -> StreamingHttpResponse:
        project = project_from(self)
        fmt = parse_format(request.query_params.get("format") or "csv")
        filters = agreement_filters(request.query_params)
        rows = annotation_rows(project=project, filters=filters)
        content_type = "text/csv; charset=utf-8" if fmt is FileFormat.CSV else "application/json"
        response = StreamingHttpResponse(
            export_lines(rows, fmt, export_fields(project)), content_type=content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{project.name}-annotations.{fmt.value}"'
        return response


class Import(LeadsOnly):
    """Annotations made offline, for existing tasks: all rows or none (400 lists each bad row and field)."""

    renderer_classes = [JSONRenderer]
    parser_classes = [MultiPartParser]
    content_negotiation_class = _FormatIsOurs

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "json"], description="Default: sniffed.")],
        request={
            "text/csv": OpenApiTypes.STR,
            "application/json": OpenApiTypes.OBJECT,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_from(self)
        stream, fmt = _upload(request)
        try:
            result = annotations_import(project=project, rows=read_rows(stream, fmt))
        except ImportRejected as exc:
            body = {"detail": exc.message, "hint": exc.hint, "errors": [e.to_dict() for e in exc.errors]}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(result.to_dict(), status=code)


def _upload(request: Request) -> tuple[IO[bytes], FileFormat]:
    """The file (multipart ``file``, or the raw body) and its format: ?format=, the type, or sniffed."""
    name = ""
    if (request.content_type or "").startswith("multipart/form-data"):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(NO_FILE)
        stream: IO[bytes] = upload.file
        name, declared = upload.name or "", upload.content_type or ""
    else:
        try:
            body = request.body
        except (RequestDataTooBig, RawPostDataException):
            raise InvalidInput(TOO_BIG) from None
        if not body.strip():
            raise InvalidInput(NO_FILE)
        stream, declared = io.BytesIO(body), request.content_type or ""
    explicit = request.query_params.get("format")
    if explicit:
        return stream, parse_format(explicit)
    if "csv" in declared or name.lower().endswith(".csv"):
        return stream, FileFormat.CSV
    if "json" in declared or name.lower().endswith((".json", ".jsonl")):
        return stream, FileFormat.JSON
    head = stream.read(64)
    stream.seek(0)
    return stream, sniff_format(head)


# The same endpoint with a trailing slash: served, but documented once.
@extend_schema_view(get=extend_schema(exclude=True))
class AgreementSlash(Agreement):
    pass
