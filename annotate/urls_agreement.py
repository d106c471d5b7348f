"""Pages: the leads' agreement dashboard and its CSV downloads."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
