from django.urls import include, path

from annotate.api import views

urlpatterns = [
    path("projects/<int:project_id>/sops/", views.SOPList.as_view(), name="api-sops"),
    path("projects/<int:project_id>/sops/<int:version>/", views.SOPDetail.as_view(), name="api-sop"),
    path(
        "projects/<int:project_id>/sops/<int:version>/publish/",
        views.SOPPublish.as_view(),
        name="api-sop-publish",
    ),
    path(
        "projects/<int:project_id>/sops/diff/<int:old>/<int:new>/",
        views.SOPDiff.as_view(),
        name="api-sop-diff",
    ),
    path("projects/<int:project_id>/tasks/", views.TaskList.as_view(), name="api-tasks"),
    path("projects/<int:project_id>/next-task/", views.NextTask.as_view(), name="api-next-task"),
    path("assignments/<int:assignment_id>/submit/", views.Submit.as_view(), name="api-submit"),
    path("assignments/<int:assignment_id>/skip/", views.Skip.as_view(), name="api-skip"),
    path("", include("annotate.api.urls_review")),
    path("", include("annotate.api.urls_agreement")),
    path("", include("annotate.api.urls_augment")),
]
