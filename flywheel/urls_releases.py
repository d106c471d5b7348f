"""Pages: export releases."""

from django.urls import URLPattern, URLResolver, path

from flywheel import views_releases

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<int:project_id>/releases/", views_releases.releases, name="releases"),
    path("projects/<int:project_id>/releases/new/", views_releases.release_new, name="release-new"),
    path(
        "projects/<int:project_id>/releases/<int:number>/",
        views_releases.release_detail,
        name="release-detail",
    ),
    path(
        "projects/<int:project_id>/releases/<int:number>/download/",
        views_releases.release_download,
        name="release-download",
    ),
]
