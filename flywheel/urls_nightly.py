"""Pages: the nightly job's runs."""

from django.urls import path

from flywheel import views_nightly

urlpatterns = [
    path("projects/<int:project_id>/nightly/", views_nightly.nightly_runs, name="nightly-runs"),
    path(
        "projects/<int:project_id>/nightly/<int:run_id>/",
        views_nightly.nightly_run_detail,
        name="nightly-run",
    ),
]
