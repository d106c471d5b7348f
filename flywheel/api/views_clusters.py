"""API for failure rules (leads write, members read), clusters and their members."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics
from rest_framework.request import Request

from annotate.access import has_role
from annotate.models import Role
from flywheel.api.permissions import ProjectRole, project_from
from flywheel.api.serializers import ClusterSerializer, FailureRuleSerializer, FailureSerializer
from flywheel.models import Cluster, Failure, FailureRule
from flywheel.selectors.clusters import members

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class LeadWrites(ProjectRole):
    """Members read; leads (and admins) write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in READ_METHODS or has_role(
            user=request.user, project=project_from(view), at_least=Role.LEAD
        )


class ProjectScoped(generics.GenericAPIView):
    permission_classes = [LeadWrites]
    required_role = Role.ANNOTATOR

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "project": project_from(self)}


class RuleList(ProjectScoped, generics.ListCreateAPIView):
    serializer_class = FailureRuleSerializer

    def get_queryset(self) -> QuerySet[FailureRule]:
        return FailureRule.objects.filter(project=project_from(self))

    def perform_create(self, serializer: FailureRuleSerializer) -> None:  # type: ignore[override]
        serializer.save(project=project_from(self))


class RuleDetail(ProjectScoped, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = FailureRuleSerializer
    lookup_url_kwarg = "rule_id"

    def get_queryset(self) -> QuerySet[FailureRule]:
        return FailureRule.objects.filter(project=project_from(self))


class ClusterList(ProjectScoped, generics.ListAPIView):
    serializer_class = ClusterSerializer

    def get_queryset(self) -> QuerySet[Cluster]:
        return Cluster.objects.filter(project=project_from(self), active=True).order_by(
            "-occurrences", "number"
        )


class ClusterDetail(ProjectScoped, generics.RetrieveUpdateAPIView):
    """Leads may rename a cluster (``custom_name``); the name survives re-clustering."""

    serializer_class = ClusterSerializer
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[Cluster]:
        return Cluster.objects.filter(project=project_from(self))


class ClusterMembers(ProjectScoped, generics.ListAPIView):
    serializer_class = FailureSerializer

    def get_queryset(self) -> QuerySet[Failure]:
        project = project_from(self)
        number = self.kwargs["number"]
        cluster = None if number == 0 else get_object_or_404(Cluster, project=project, number=number)
        return members(project=project, cluster=cluster).select_related("cluster")
