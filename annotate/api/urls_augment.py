"""API: augmentation runs and proposed samples."""

from django.urls import URLPattern, URLResolver, path

from annotate.api import views_augment as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/augment/runs/", views.RunList.as_view(), name="api-augment-runs"),
    path(
        "projects/<int:project_id>/augment/runs/<int:run_id>/",
        views.RunDetail.as_view(),
        name="api-augment-run",
    ),
    path(
        "projects/<int:project_id>/augment/runs/<int:run_id>/progress/",
        views.RunProgress.as_view(),
        name="api-augment-progress",
    ),
    path(
        "projects/<int:project_id>/augment/runs/<int:run_id>/preview/",
        views.RunPreview.as_view(),
        name="api-augment-preview",
    ),
    path(
        "projects/<int:project_id>/augment/runs/<int:run_id>/bulk-accept/",
        views.RunBulkAccept.as_view(),
        name="api-augment-bulk-accept",
    ),
    path("projects/<int:project_id>/proposed/", views.ProposedList.as_view(), name="api-proposed"),
    path(
        "projects/<int:project_id>/proposed/<int:sample_id>/accept/",
        views.ProposedAccept.as_view(),
        name="api-proposed-accept",
    ),
    path(
        "projects/<int:project_id>/proposed/<int:sample_id>/discard/",
        views.ProposedDiscard.as_view(),
        name="api-proposed-discard",
    ),
]
