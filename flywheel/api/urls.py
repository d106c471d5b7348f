from django.urls import path

from flywheel.api import views

urlpatterns = [
    path("projects/", views.ProjectList.as_view(), name="api-projects"),
    path("projects/<int:project_id>/sources/", views.SourceList.as_view(), name="api-sources"),
    path("projects/<int:project_id>/traces/", views.TraceList.as_view(), name="api-traces"),
    path("projects/<int:project_id>/traces/<int:trace_id>/", views.TraceDetail.as_view(), name="api-trace"),
    path("projects/<int:project_id>/sync-runs/", views.SyncRunList.as_view(), name="api-sync-runs"),
]
