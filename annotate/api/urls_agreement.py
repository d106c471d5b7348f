"""API: agreement statistics, annotator stats, raw annotation export/import."""

from django.urls import URLPattern, URLResolver, path

from annotate.api import views_agreement as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/agreement", views.Agreement.as_view(), name="api-agreement"),
    path("projects/<int:project_id>/agreement/", views.AgreementSlash.as_view(), name="api-agreement-slash"),
    path("projects/<int:project_id>/annotators/", views.Annotators.as_view(), name="api-annotators"),
    path(
        "projects/<int:project_id>/annotations/export", views.Export.as_view(), name="api-annotations-export"
    ),
    path(
        "projects/<int:project_id>/annotations/import", views.Import.as_view(), name="api-annotations-import"
    ),
]
