"""The inbox (under /inbox/)."""

from django.urls import URLPattern, URLResolver, path  # noqa: F401

app_name = "inbox"

urlpatterns: list[URLPattern | URLResolver] = []
