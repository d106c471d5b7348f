"""API: training runs and nightly runs."""

from django.urls import URLPattern, URLResolver, path

from flywheel.api import views_runs

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "projects/<int:project_id>/training-runs/",
        views_runs.TrainingRunList.as_view(),
        name="api-training-runs",
    ),
    path(
        "projects/<int:project_id>/training-runs/<int:run_id>/",
        views_runs.TrainingRunDetail.as_view(),
        name="api-training-run",
    ),
]
