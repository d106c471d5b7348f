"""Seed-variant API for leads: launch a (small) recipe, read runs, review proposed rows.

One class per operation: validate -> call the service -> serialize. Annotators get 403, people
outside the project 404 (:class:`flywheel.api.permissions.ProjectRole`). A recipe launched here
is bounded like the page's (:mod:`annotate.views_augment`); bigger ones run as a command.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.api.serializers_augment import (
    AugmentRunSerializer,
    BulkAcceptedSerializer,
    DecisionSerializer,
    LaunchSerializer,
    ProgressSerializer,
    ProposedSerializer,
)
from annotate.augment.recipe import parse_recipe
from annotate.models import AugmentRun, Role, Sample
from annotate.selectors_augment import run_progress
from annotate.services.augment import (
    augment_run,
    proposed_accept,
    proposed_bulk_accept,
    proposed_discard,
    proposed_preview,
)
from annotate.views_augment import PAGE_MAX_NEW_EMBEDDINGS, PAGE_MAX_PARAPHRASE_SEEDS, PAGE_MAX_SEEDS
from flywheel.api.permissions import ProjectRole, project_from


class RunList(generics.ListAPIView):
    """Runs of the project, newest first. POST runs a small recipe now and returns its run."""

    permission_classes = [ProjectRole]
    required_role = Role.LEAD
    serializer_class = AugmentRunSerializer

    def get_queryset(self) -> QuerySet[AugmentRun]:
        return AugmentRun.objects.filter(project=project_from(self)).select_related("created_by")

    @extend_schema(request=LaunchSerializer, responses={201: AugmentRunSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        data = LaunchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recipe = parse_recipe(data.validated_data["recipe"])
        run = augment_run(
            project=project_from(self),
            recipe=recipe,
            round=data.validated_data["round"],
            user=request.user,
            max_seeds=PAGE_MAX_PARAPHRASE_SEEDS if recipe.uses_paraphrase else PAGE_MAX_SEEDS,
            max_new_embeddings=PAGE_MAX_NEW_EMBEDDINGS,
        )
        return Response(AugmentRunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetail(generics.RetrieveAPIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD
    serializer_class = AugmentRunSerializer
    lookup_url_kwarg = "run_id"

    def get_queryset(self) -> QuerySet[AugmentRun]:
        return AugmentRun.objects.filter(project=project_from(self))


class RunProgress(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    @extend_schema(responses=ProgressSerializer)
    def get(self, request: Request, project_id: int, run_id: int) -> Response:
        run = get_object_or_404(AugmentRun, pk=run_id, project=project_from(self))
        return Response(ProgressSerializer(run_progress(run=run)).data)


class RunPreview(APIView):
    """``k`` waiting rows of the run chosen at random (the same ones until they are decided)."""

    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    @extend_schema(
        parameters=[
            OpenApiParameter("k", OpenApiTypes.INT, description="How many (default 10, at most 100)")
        ],
        responses=ProposedSerializer(many=True),
    )
    def get(self, request: Request, project_id: int, run_id: int) -> Response:
        project = project_from(self)
        run = get_object_or_404(AugmentRun, pk=run_id, project=project)
        raw = request.query_params.get("k", "10")
        k = min(100, max(1, int(raw))) if raw.isdigit() else 10
        rows = proposed_preview(project=project, run=run, k=k)
        full = Sample.objects.filter(pk__in=[s.pk for s in rows]).select_related("seed", "reviewer")
        by_pk = {s.pk: s for s in full}
        return Response(ProposedSerializer([by_pk[s.pk] for s in rows], many=True).data)


class RunBulkAccept(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD

    @extend_schema(request=None, responses=BulkAcceptedSerializer)
    def post(self, request: Request, project_id: int, run_id: int) -> Response:
        accepted = proposed_bulk_accept(project=project_from(self), run_id=run_id, reviewer=request.user)
        return Response({"accepted": accepted})


class ProposedList(generics.ListAPIView):
    """Rows waiting for a lead (``status=proposed``), optionally of one run."""

    permission_classes = [ProjectRole]
    required_role = Role.LEAD
    serializer_class = ProposedSerializer

    @extend_schema(parameters=[OpenApiParameter("run", OpenApiTypes.INT, description="Only this run's rows")])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Sample]:
        rows = Sample.objects.filter(project=project_from(self), status=Sample.Status.PROPOSED)
        run = self.request.query_params.get("run", "")
        if run.isdigit():
            rows = rows.filter(augment_run_id=int(run))
        return rows.select_related("seed", "reviewer").order_by("pk")


class _ProposedDecision(APIView):
    """A lead's decision on one proposed row; ``decide`` is the service call."""

    permission_classes = [ProjectRole]
    required_role = Role.LEAD
    decide: Callable[..., Sample]

    @extend_schema(request=DecisionSerializer, responses=ProposedSerializer)
    def post(self, request: Request, project_id: int, sample_id: int) -> Response:
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sample = self.decide(
            project=project_from(self), sample_id=sample_id, reviewer=request.user, **data.validated_data
        )
        return Response(ProposedSerializer(sample).data)


class ProposedAccept(_ProposedDecision):
    decide = staticmethod(proposed_accept)


class ProposedDiscard(_ProposedDecision):
    decide = staticmethod(proposed_discard)
