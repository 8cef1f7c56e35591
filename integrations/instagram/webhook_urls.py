"""What Meta calls (under /webhooks/instagram/): deliveries, deauthorize, data deletion."""

from django.urls import URLPattern, URLResolver, path

from integrations.instagram import views, views_publish, webhooks

app_name = "instagram_webhooks"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", webhooks.receive, name="receive"),
    # Meta's callbacks (IG-7, EXTERNAL_APIS.md §3.11), and the public status page of a deletion.
    path("deauthorize/", views.deauthorize, name="deauthorize"),
    path("data-deletion/", views.data_deletion, name="data_deletion"),
    path(
        "data-deletion/<str:confirmation_code>/",
        views.deletion_status,
        name="deletion_status",
    ),
    # --- Publishing: Meta fetches an uploaded image while it prepares the post (§3.8) ---
    path("images/<str:token>.jpg", views_publish.post_image, name="post_image"),
]
