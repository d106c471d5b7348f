from django.urls import include, path

from annotate import views, views_sop

urlpatterns = [
    path("projects/<int:project_id>/label/", views.label_home, name="label-home"),
    path("projects/<int:project_id>/label/next/", views.label_next, name="label-next"),
    path("projects/<int:project_id>/label/<int:assignment_id>/", views.label_item, name="label-item"),
    path("projects/<int:project_id>/sop/", views_sop.sop_page, name="sop"),
    path("projects/<int:project_id>/sop/diff/<int:old>/<int:new>/", views_sop.sop_diff_page, name="sop-diff"),
    path("projects/<int:project_id>/tasks/create/", views_sop.create_tasks, name="tasks-create"),
    path("", include("annotate.urls_review")),
    path("", include("annotate.urls_agreement")),
    path("", include("annotate.urls_augment")),
]
