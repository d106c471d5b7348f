"""Read API for the pipeline's data. Thin: querysets scoped to the URL's project."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import generics

from annotate.access import projects_for
from annotate.models import Role
from flywheel.api.permissions import ProjectRole, project_from
from flywheel.api.serializers import (
    ProjectSerializer,
    SyncRunSerializer,
    TraceDetailSerializer,
    TraceListSerializer,
    TraceSourceSerializer,
)
from flywheel.models import Project, SyncRun, Trace, TraceSource


class ProjectList(generics.ListAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        return projects_for(user=self.request.user)


class SourceList(generics.ListAPIView):
    """Trace sources hold connection details: admins only."""

    serializer_class = TraceSourceSerializer
    permission_classes = [ProjectRole]
    required_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[TraceSource]:
        return TraceSource.objects.filter(project=project_from(self))


class TraceList(generics.ListAPIView):
    serializer_class = TraceListSerializer
    permission_classes = [ProjectRole]
    required_role = Role.ANNOTATOR

    def get_queryset(self) -> QuerySet[Trace]:
        return Trace.objects.filter(project=project_from(self)).order_by("-timestamp", "-id")


class TraceDetail(generics.RetrieveAPIView):
    serializer_class = TraceDetailSerializer
    permission_classes = [ProjectRole]
    required_role = Role.ANNOTATOR
    lookup_url_kwarg = "trace_id"

    def get_queryset(self) -> QuerySet[Trace]:
        return Trace.objects.filter(project=project_from(self)).prefetch_related("observations", "scores")


class SyncRunList(generics.ListAPIView):
    serializer_class = SyncRunSerializer
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    def get_queryset(self) -> QuerySet[SyncRun]:
        return SyncRun.objects.filter(source__project=project_from(self)).select_related("source")
