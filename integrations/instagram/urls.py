"""Settings → Social and the agent's Instagram pages (under /settings/social/)."""

from django.urls import URLPattern, URLResolver, path  # noqa: F401

app_name = "instagram"

urlpatterns: list[URLPattern | URLResolver] = []
