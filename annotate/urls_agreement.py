"""Pages: the leads' agreement dashboard and its CSV downloads."""

from django.urls import URLPattern, URLResolver, path

from annotate import views_agreement

urlpatterns: list[URLPattern | URLResolver] = [
    # ?format=csv&table=fields|pairs|annotators|trend|confusion|boundary downloads a table.
    path("projects/<int:project_id>/agreement/", views_agreement.agreement_page, name="agreement"),
]
