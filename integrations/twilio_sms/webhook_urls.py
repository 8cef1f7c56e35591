"""What Twilio calls (under /webhooks/twilio/): inbound texts and delivery statuses (§4.3, §4.4)."""

from django.urls import URLPattern, URLResolver, path

from integrations.twilio_sms import webhooks

app_name = "twilio_webhooks"

urlpatterns: list[URLPattern | URLResolver] = [
    path("sms/", webhooks.inbound, name="sms"),
    path("status/", webhooks.status, name="status"),
]
