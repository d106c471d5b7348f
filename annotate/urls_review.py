"""Pages: the leads' review queue, adjudication, and re-queues after a new SOP version."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
