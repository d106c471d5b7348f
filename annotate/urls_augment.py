"""Pages: seed variants and programmatic data for leads."""

from django.urls import URLPattern, URLResolver, path

from annotate import views_augment

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/augment/", views_augment.augment_page, name="augment"),
    path(
        "projects/<int:project_id>/augment/runs/<int:run_id>/",
        views_augment.augment_run_page,
        name="augment-run",
    ),
    path(
        "projects/<int:project_id>/augment/runs/<int:run_id>/bulk-accept/",
        views_augment.augment_bulk_accept,
        name="augment-bulk-accept",
    ),
    path(
        "projects/<int:project_id>/augment/samples/<int:sample_id>/decide/",
        views_augment.augment_decide,
        name="augment-decide",
    ),
]
