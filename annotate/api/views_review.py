"""Review API for leads: the queue, one item, accept / fix / reject, bulk accept, re-queue, samples.

One class per operation: validate -> call the service -> serialize. Annotators get 403, people
outside the project 404 (:class:`flywheel.api.permissions.ProjectRole`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.api.serializers_review import (
    ReviewAcceptSerializer,
    ReviewAfterSerializer,
    ReviewBulkAcceptedSerializer,
    ReviewBulkAcceptSerializer,
    ReviewFixSerializer,
    ReviewItemSerializer,
    ReviewOutdatedSerializer,
    ReviewQueueRowSerializer,
    ReviewRejectedSerializer,
    ReviewRejectSerializer,
    ReviewReopenedSerializer,
    ReviewRequeuedSerializer,
    ReviewRequeueSerializer,
    ReviewSampleSerializer,
)
from annotate.models import Role, Sample, Task
from annotate.selectors_review import (
    QueueFilters,
    outdated_items,
    outdated_rows,
    queue_rows,
    review_item,
    review_queue,
    sample_list,
)
from annotate.services import review
from annotate.services.common import LabelInvalid
from flywheel.api.permissions import ProjectRole, project_from

FILTERS = [
    OpenApiParameter(
        "bucket", OpenApiTypes.INT, description="0 disagreement, 1 sampled single label, 2 the rest"
    ),
    OpenApiParameter("cluster", OpenApiTypes.INT, description="Cluster number; 0 for unclustered items"),
    OpenApiParameter("sop", OpenApiTypes.INT, description="Items with an annotation under this SOP version"),
]
# A label the SOP's schema refuses has ``detail`` and ``errors`` (field -> messages); a body that is
# not a fix at all (no ``values``, a bad ``annotation``) has the request field names as keys instead.
LABEL_ERRORS = inline_serializer(
    "ReviewLabelErrors",
    {
        "detail": serializers.CharField(required=False),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)


class LeadView(APIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD


class LeadList(generics.ListAPIView):
    permission_classes = [ProjectRole]
    required_role = Role.LEAD


class ReviewQueue(LeadList):
    """Items waiting for a lead, in review order: disagreements, sampled single labels, the rest."""

    serializer_class = ReviewQueueRowSerializer

    def get_queryset(self) -> QuerySet[Task]:
        return review_queue(
            project=project_from(self), filters=QueueFilters.from_query(self.request.query_params)
        )

    @extend_schema(parameters=FILTERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # the project's API is always paginated
        return self.get_paginated_response(ReviewQueueRowSerializer(queue_rows(page), many=True).data)


class ReviewItemDetail(LeadView):
    @extend_schema(responses=ReviewItemSerializer)
    def get(self, request: Request, project_id: int, task_id: int) -> Response:
        item = review_item(project=project_from(self), task_id=task_id)
        return Response(ReviewItemSerializer(item).data)


class ReviewAccept(LeadView):
    @extend_schema(request=ReviewAcceptSerializer, responses={200: ReviewSampleSerializer})
    def post(self, request: Request, project_id: int, task_id: int) -> Response:
        data = ReviewAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sample = review.review_accept(
            project=project_from(self),
            task_id=task_id,
            annotation_id=data.validated_data["annotation"],
            reviewer=request.user,
            comment=data.validated_data["comment"],
        )
        return Response(ReviewSampleSerializer(sample).data)


class ReviewFix(LeadView):
    @extend_schema(request=ReviewFixSerializer, responses={200: ReviewSampleSerializer, 400: LABEL_ERRORS})
    def post(self, request: Request, project_id: int, task_id: int) -> Response:
        data = ReviewFixSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            sample = review.review_fix(
                project=project_from(self),
                task_id=task_id,
                values=data.validated_data["values"],
                reviewer=request.user,
                comment=data.validated_data["comment"],
                based_on=data.validated_data["annotation"],
            )
        except LabelInvalid as exc:
            return Response({"detail": exc.message, "errors": exc.errors}, status=400)
        return Response(ReviewSampleSerializer(sample).data)


class ReviewReject(LeadView):
    @extend_schema(request=ReviewRejectSerializer, responses={200: ReviewRejectedSerializer})
    def post(self, request: Request, project_id: int, task_id: int) -> Response:
        data = ReviewRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = review.review_reject(
            project=project_from(self),
            task_id=task_id,
            annotation_id=data.validated_data["annotation"],
            reviewer=request.user,
            comment=data.validated_data["comment"],
        )
        return Response(ReviewRejectedSerializer(annotation).data)


class ReviewReopen(LeadView):
    """A final label goes back to the review queue (kept in the history, superseded)."""

    @extend_schema(request=ReviewAfterSerializer, responses={200: ReviewReopenedSerializer})
    def post(self, request: Request, project_id: int, task_id: int) -> Response:
        data = ReviewAfterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = review.review_reopen(
            project=project_from(self), task_id=task_id, reviewer=request.user, **data.validated_data
        )
        return Response(ReviewReopenedSerializer(task).data)


class ReviewDiscard(LeadView):
    """The item is decided for good and no release carries it (its final label is kept, discarded)."""

    @extend_schema(request=ReviewAfterSerializer, responses={200: ReviewReopenedSerializer})
    def post(self, request: Request, project_id: int, task_id: int) -> Response:
        data = ReviewAfterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = review.review_discard(
            project=project_from(self), task_id=task_id, reviewer=request.user, **data.validated_data
        )
        return Response(ReviewReopenedSerializer(task).data)


class ReviewBulkAccept(LeadView):
    @extend_schema(request=ReviewBulkAcceptSerializer, responses={200: ReviewBulkAcceptedSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        data = ReviewBulkAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        accepted = review.review_bulk_accept(
            project=project_from(self), reviewer=request.user, **data.validated_data
        )
        return Response({"accepted": accepted})


class ReviewOutdated(LeadList):
    """Labeled items (pending or final) whose annotations followed an older SOP version."""

    serializer_class = ReviewOutdatedSerializer

    def get_queryset(self) -> QuerySet[Task]:
        return outdated_items(project=project_from(self))

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response(ReviewOutdatedSerializer(outdated_rows(page), many=True).data)


class ReviewRequeue(LeadView):
    @extend_schema(request=ReviewRequeueSerializer, responses={200: ReviewRequeuedSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        data = ReviewRequeueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = review.requeue(
            project=project_from(self), user=request.user, task_ids=data.validated_data["tasks"]
        )
        return Response({"requeued": done})


class SampleList(LeadList):
    """The reviewed set: final labels, proposed variants, discarded and superseded samples."""

    serializer_class = ReviewSampleSerializer

    def get_queryset(self) -> QuerySet[Sample]:
        params = self.request.query_params
        return sample_list(
            project=project_from(self), status=params.get("status"), origin=params.get("origin")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, description=", ".join(Sample.Status.values)),
            OpenApiParameter("origin", OpenApiTypes.STR, description=", ".join(Sample.Origin.values)),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
