"""What Meta calls (under /webhooks/instagram/): deliveries, deauthorize, data deletion."""

from django.urls import URLPattern, URLResolver, path  # noqa: F401

app_name = "instagram_webhooks"

urlpatterns: list[URLPattern | URLResolver] = []
