"""What Meta calls (under /webhooks/instagram/): deliveries, deauthorize, data deletion."""

from django.urls import URLPattern, URLResolver, path

from integrations.instagram import webhooks

app_name = "instagram_webhooks"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", webhooks.receive, name="receive"),
]
