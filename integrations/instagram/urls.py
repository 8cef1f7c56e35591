"""Settings → Social and the agent's Instagram pages (under /settings/social/)."""

from django.urls import URLPattern, URLResolver, path

from integrations.instagram import views, views_comments, views_publish

app_name = "instagram"

urlpatterns: list[URLPattern | URLResolver] = [
    # --- Comments and keyword triggers ---
    path("comments/", views_comments.comments, name="comments"),
    path("comments/refresh/", views_comments.comments_refresh, name="comments_refresh"),
    path("comments/<int:ig_comment_id>/reply/", views_comments.comment_reply, name="comment_reply"),
    path(
        "comments/<int:ig_comment_id>/private-reply/",
        views_comments.comment_private_reply_send,
        name="comment_private_reply",
    ),
    path("triggers/", views_comments.triggers, name="triggers"),
    path("triggers/switch/", views_comments.triggers_switch_view, name="triggers_switch"),
    path("triggers/new/", views_comments.trigger_new, name="trigger_new"),
    path("triggers/<int:trigger_id>/", views_comments.trigger_edit, name="trigger_edit"),
    path("triggers/<int:trigger_id>/delete/", views_comments.trigger_delete, name="trigger_delete"),
    path("", views.social_settings, name="settings"),
    path("instagram/connect/", views.connect, name="connect"),
    path("instagram/callback/", views.callback, name="callback"),
    path("instagram/<int:account_id>/disconnect/", views.disconnect, name="disconnect"),
    # --- Publishing ---
    path("instagram/posts/", views_publish.posts, name="posts"),
    path("instagram/posts/new/", views_publish.post_new, name="post_new"),
    path(
        "instagram/posts/<int:post_id>/publish/",
        views_publish.post_publish_view,
        name="post_publish",
    ),
]
