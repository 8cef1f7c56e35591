"""Settings -> SMS (under /settings/sms/)."""

from django.urls import URLPattern, URLResolver, path

from integrations.twilio_sms import views

app_name = "twilio_sms"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.sms_settings, name="settings"),
    path("test/", views.test_message, name="test"),
    path("sandbox/", views.use_sandbox, name="sandbox"),
    path("remove/", views.remove, name="remove"),
]
