"""API: review queue and decisions."""

from django.urls import URLPattern, URLResolver, path

from annotate.api import views_review as v

P = "projects/<int:project_id>"
urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{P}/review/", v.ReviewQueue.as_view(), name="api-review-queue"),
    path(f"{P}/review/bulk-accept/", v.ReviewBulkAccept.as_view(), name="api-review-bulk-accept"),
    path(f"{P}/review/outdated/", v.ReviewOutdated.as_view(), name="api-review-outdated"),
    path(f"{P}/review/requeue/", v.ReviewRequeue.as_view(), name="api-review-requeue"),
    path(f"{P}/review/<int:task_id>/", v.ReviewItemDetail.as_view(), name="api-review-item"),
    path(f"{P}/review/<int:task_id>/accept/", v.ReviewAccept.as_view(), name="api-review-accept"),
    path(f"{P}/review/<int:task_id>/fix/", v.ReviewFix.as_view(), name="api-review-fix"),
    path(f"{P}/review/<int:task_id>/reject/", v.ReviewReject.as_view(), name="api-review-reject"),
    path(f"{P}/review/<int:task_id>/reopen/", v.ReviewReopen.as_view(), name="api-review-reopen"),
    path(f"{P}/review/<int:task_id>/discard/", v.ReviewDiscard.as_view(), name="api-review-discard"),
    path(f"{P}/samples/", v.SampleList.as_view(), name="api-samples"),
]
