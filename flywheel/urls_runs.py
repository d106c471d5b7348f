"""Pages: training runs and nightly runs."""

from django.urls import URLPattern, URLResolver, path

from flywheel import views_runs

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/training-runs/", views_runs.training_runs, name="training-runs"),
    path(
        "projects/<int:project_id>/training-runs/<int:run_id>/", views_runs.training_run, name="training-run"
    ),
    path(
        "projects/<int:project_id>/training-runs/<int:run_id>/files/<str:name>",
        views_runs.training_run_file,
        name="training-run-file",
    ),
]
