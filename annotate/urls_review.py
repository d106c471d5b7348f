"""Pages: the leads' review queue, adjudication, and re-queues after a new SOP version."""

from django.urls import URLPattern, URLResolver, path

from annotate import views_review

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/review/", views_review.review_queue_page, name="review-queue"),
    path(
        "projects/<int:project_id>/review/bulk-accept/",
        views_review.review_bulk_accept_page,
        name="review-bulk-accept",
    ),
    path(
        "projects/<int:project_id>/review/outdated/",
        views_review.review_outdated_page,
        name="review-outdated",
    ),
    path(
        "projects/<int:project_id>/review/<int:task_id>/", views_review.review_item_page, name="review-item"
    ),
]
