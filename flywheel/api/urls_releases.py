"""API: export releases."""

from django.urls import URLPattern, URLResolver, path

from flywheel.api import views_releases

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/releases/", views_releases.ReleaseList.as_view(), name="api-releases"),
    path(
        "projects/<int:project_id>/releases/preview/",
        views_releases.ReleasePreview.as_view(),
        name="api-release-preview",
    ),
    path(
        "projects/<int:project_id>/releases/<int:number>/",
        views_releases.ReleaseDetail.as_view(),
        name="api-release",
    ),
    path(
        "projects/<int:project_id>/releases/<int:number>/download/",
        views_releases.ReleaseDownload.as_view(),
        name="api-release-download",
    ),
]
