"""API: agreement statistics, annotator stats, raw annotation export/import."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
