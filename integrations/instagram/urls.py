"""Settings → Social and the agent's Instagram pages (under /settings/social/)."""

from django.urls import URLPattern, URLResolver, path

from integrations.instagram import views

app_name = "instagram"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.social_settings, name="settings"),
    path("instagram/connect/", views.connect, name="connect"),
    path("instagram/callback/", views.callback, name="callback"),
    path("instagram/<int:account_id>/disconnect/", views.disconnect, name="disconnect"),
]
