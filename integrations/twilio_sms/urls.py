"""Settings -> SMS (under /settings/sms/), and its Reminders page."""

from django.urls import URLPattern, URLResolver, path

from integrations.twilio_sms import reminder_views, views

app_name = "twilio_sms"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.sms_settings, name="settings"),
    path("test/", views.test_message, name="test"),
    path("sandbox/", views.use_sandbox, name="sandbox"),
    path("remove/", views.remove, name="remove"),
    path("reminders/", reminder_views.reminder_settings, name="reminders"),
]
