"""API: training runs of a project (leads). Read-only: runs are recorded by the service and the command."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import generics

from annotate.models import Role
from flywheel.api.permissions import ProjectRole, project_from
from flywheel.api.serializers_runs import TrainingRunDetailSerializer, TrainingRunSerializer
from flywheel.models import TrainingRun


class TrainingRunList(generics.ListAPIView):
    serializer_class = TrainingRunSerializer
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    def get_queryset(self) -> QuerySet[TrainingRun]:
        return (
            TrainingRun.objects.filter(project=project_from(self))
            .defer("manifest", "config")
            .order_by("-started_at", "-id")
        )


class TrainingRunDetail(generics.RetrieveAPIView):
    serializer_class = TrainingRunDetailSerializer
    permission_classes = [ProjectRole]
    required_role = Role.LEAD
    lookup_url_kwarg = "run_id"

    def get_queryset(self) -> QuerySet[TrainingRun]:
        return TrainingRun.objects.filter(project=project_from(self))
