"""What Meta calls (under /webhooks/instagram/): deliveries, deauthorize, data deletion."""

from django.urls import URLPattern, URLResolver, path

from integrations.instagram import views_publish

app_name = "instagram_webhooks"

urlpatterns: list[URLPattern | URLResolver] = [
    # --- Publishing: Meta fetches an uploaded image while it prepares the post (§3.8) ---
    path("images/<str:token>.jpg", views_publish.post_image, name="post_image"),
]
