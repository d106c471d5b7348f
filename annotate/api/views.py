"""Labeling API: SOPs (leads), tasks (leads), next-task / submit / skip (annotators)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.api.serializers import (
    AnnotationSerializer,
    AnnotatorTaskSerializer,
    SkipSerializer,
    SOPSerializer,
    SubmitSerializer,
    TaskCreateSerializer,
    TaskSerializer,
)
from annotate.models import SOP, Role, Task
from annotate.services import queue
from annotate.services.sops import sop_publish, sop_save_draft, sop_versions_diff
from annotate.services.tasks import tasks_create
from flywheel.api.permissions import ProjectRole, project_from
from flywheel.api.views_clusters import LeadWrites


class SOPList(generics.ListCreateAPIView):
    """Members read the SOP; leads write drafts (one open draft per project)."""

    serializer_class = SOPSerializer
    permission_classes = [LeadWrites]
    required_role = Role.ANNOTATOR

    def get_queryset(self) -> QuerySet[SOP]:
        return SOP.objects.filter(project=project_from(self))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SOPSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sop = sop_save_draft(project=project_from(self), user=request.user, **data.validated_data)
        return Response(SOPSerializer(sop).data, status=status.HTTP_201_CREATED)


class SOPDetail(generics.RetrieveAPIView):
    serializer_class = SOPSerializer
    permission_classes = [ProjectRole]
    required_role = Role.ANNOTATOR
    lookup_field = "version"

    def get_queryset(self) -> QuerySet[SOP]:
        return SOP.objects.filter(project=project_from(self))


class SOPPublish(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    @extend_schema(request=None, responses=SOPSerializer)
    def post(self, request: Request, project_id: int, version: int) -> Response:
        sop = get_object_or_404(SOP, project=project_from(self), version=version)
        return Response(SOPSerializer(sop_publish(sop=sop)).data)


class SOPDiff(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    @extend_schema(responses={200: dict})
    def get(self, request: Request, project_id: int, old: int, new: int) -> Response:
        sops = SOP.objects.filter(project=project_from(self))
        diff = sop_versions_diff(get_object_or_404(sops, version=old), get_object_or_404(sops, version=new))
        return Response({"old": old, "new": new, "diff": diff})


class TaskList(generics.ListAPIView):
    serializer_class = TaskSerializer
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    def get_queryset(self) -> QuerySet[Task]:
        return Task.objects.filter(project=project_from(self)).select_related("trace", "cluster")

    @extend_schema(request=TaskCreateSerializer, responses={201: dict})
    def post(self, request: Request, project_id: int) -> Response:
        data = TaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = tasks_create(project=project_from(self), user=request.user, **data.validated_data)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class NextTask(APIView):
    """Reserves the next task for the caller (or returns the one already leased). 204: queue empty."""

    permission_classes = [ProjectRole]
    required_role = Role.ANNOTATOR

    @extend_schema(request=None, responses={200: AnnotatorTaskSerializer, 204: None})
    def post(self, request: Request, project_id: int) -> Response:
        lease = queue.next_task(project=project_from(self), user=request.user)
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(AnnotatorTaskSerializer(lease).data)


class Submit(APIView):
    @extend_schema(request=SubmitSerializer, responses={201: AnnotationSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        data = SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            annotation = queue.submit(assignment_id=assignment_id, user=request.user, **data.validated_data)
        except queue.LabelInvalid as exc:
            return Response({"detail": exc.message, "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class Skip(APIView):
    @extend_schema(request=SkipSerializer, responses={200: dict})
    def post(self, request: Request, assignment_id: int) -> Response:
        data = SkipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        queue.skip(assignment_id=assignment_id, user=request.user, reason=data.validated_data["reason"])
        return Response({"skipped": assignment_id})
