"""API for export releases (leads): list, one release with its manifest, the archive, a preview."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.models import Role
from flywheel.api.permissions import ProjectRole, project_from
from flywheel.export.records import parse_query
from flywheel.models import Release
from flywheel.selectors.releases import release_get, release_list, release_preview
from flywheel.views_releases import QUERY_FIELDS, archive_response


class ReleaseSerializer(serializers.ModelSerializer):
    created_by = serializers.SerializerMethodField()
    predecessor = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = [
            "number",
            "release_id",
            "created_at",
            "created_by",
            "sample_count",
            "counts",
            "warnings",
            "forced",
            "predecessor",
            "path",
            "manifest_sha256",
            "query",
        ]

    def get_created_by(self, release: Release) -> str | None:
        return release.created_by.get_username() if release.created_by else None

    def get_predecessor(self, release: Release) -> str | None:
        return release.predecessor.release_id if release.predecessor else None


class ReleaseDetailSerializer(ReleaseSerializer):
    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "manifest"]


class LeadOnly(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD


class ReleaseList(LeadOnly, generics.ListAPIView):
    serializer_class = ReleaseSerializer

    def get_queryset(self) -> QuerySet[Release]:
        return release_list(project_from(self))


class ReleaseDetail(LeadOnly, generics.RetrieveAPIView):
    serializer_class = ReleaseDetailSerializer

    def get_object(self) -> Release:
        return release_get(project_from(self), int(self.kwargs["number"]))


class ReleaseDownload(LeadOnly):
    """The release directory as ``<release_id>.tar.gz`` (manifest.json and every file it lists)."""

    @extend_schema(responses={(200, "application/gzip"): bytes})
    def get(self, request: Request, project_id: int, number: int) -> HttpResponseBase:
        return archive_response(release_get(project_from(self), number))


class ReleasePreview(LeadOnly):
    """What a query would select, and the checks that need no texts (count, mix); publishes nothing."""

    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=False) for name in QUERY_FIELDS],
        responses={200: dict},
    )
    def get(self, request: Request, project_id: int) -> Response:
        values: dict[str, Any] = {name: request.query_params.get(name) for name in QUERY_FIELDS}
        return Response(release_preview(project_from(self), parse_query(**values)))
