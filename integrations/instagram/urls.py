"""Settings → Social and the agent's Instagram pages (under /settings/social/)."""

from django.urls import URLPattern, URLResolver, path

from integrations.instagram import views_publish

app_name = "instagram"

urlpatterns: list[URLPattern | URLResolver] = [
    # --- Publishing ---
    path("instagram/posts/", views_publish.posts, name="posts"),
    path("instagram/posts/new/", views_publish.post_new, name="post_new"),
    path(
        "instagram/posts/<int:post_id>/publish/",
        views_publish.post_publish_view,
        name="post_publish",
    ),
]
