from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from flywheel import views, views_clusters
from flywheel.services.throttle import throttled

# The admin has its own sign-in page; it is throttled the same way.
admin.site.login = throttled(admin.site.login)  # type: ignore[method-assign,assignment]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", throttled(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/<int:project_id>/traces/", views.trace_list, name="trace-list"),
    path("projects/<int:project_id>/traces/<int:trace_id>/", views.trace_detail, name="trace-detail"),
    path("projects/<int:project_id>/sync-runs/", views.sync_runs, name="sync-runs"),
    path("projects/<int:project_id>/clusters/", views_clusters.clusters, name="clusters"),
    path(
        "projects/<int:project_id>/clusters/unclustered/", views_clusters.cluster_detail, name="cluster-noise"
    ),
    path(
        "projects/<int:project_id>/clusters/<int:number>/",
        views_clusters.cluster_detail,
        name="cluster-detail",
    ),
    path("api/", include("flywheel.api.urls")),
    path("api/", include("annotate.api.urls")),
    path("", include("annotate.urls")),
    path("", include("flywheel.urls_releases")),
    path("", include("flywheel.urls_runs")),
    path("", include("flywheel.urls_nightly")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
