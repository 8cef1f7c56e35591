from django.urls import path

from alt.urls import urlpatterns as app_urlpatterns
from integrations.webhooks import webhook_view
from tests.testapp.webhooks import receiver

urlpatterns = [
    *app_urlpatterns,
    path("webhooks/test/", webhook_view(receiver), name="test_webhook"),
]
