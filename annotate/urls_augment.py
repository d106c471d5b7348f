"""Pages: seed variants and programmatic data for leads."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
