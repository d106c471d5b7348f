from django.urls import include, path

from flywheel.api import views, views_clusters

urlpatterns = [
    path("projects/", views.ProjectList.as_view(), name="api-projects"),
    path("projects/<int:project_id>/sources/", views.SourceList.as_view(), name="api-sources"),
    path("projects/<int:project_id>/traces/", views.TraceList.as_view(), name="api-traces"),
    path("projects/<int:project_id>/traces/<int:trace_id>/", views.TraceDetail.as_view(), name="api-trace"),
    path("projects/<int:project_id>/sync-runs/", views.SyncRunList.as_view(), name="api-sync-runs"),
    path("projects/<int:project_id>/rules/", views_clusters.RuleList.as_view(), name="api-rules"),
    path(
        "projects/<int:project_id>/rules/<int:rule_id>/", views_clusters.RuleDetail.as_view(), name="api-rule"
    ),
    path("projects/<int:project_id>/clusters/", views_clusters.ClusterList.as_view(), name="api-clusters"),
    path(
        "projects/<int:project_id>/clusters/<int:number>/",
        views_clusters.ClusterDetail.as_view(),
        name="api-cluster",
    ),
    path(
        "projects/<int:project_id>/clusters/<int:number>/members/",
        views_clusters.ClusterMembers.as_view(),
        name="api-cluster-members",
    ),
    path("", include("flywheel.api.urls_releases")),
    path("", include("flywheel.api.urls_runs")),
]
