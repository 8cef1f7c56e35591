"""ALT's copies of inbound MMS pictures (under /sms/media/), for members of the workspace."""

from django.urls import URLPattern, URLResolver, path

from integrations.twilio_sms import media

app_name = "twilio_sms_media"

urlpatterns: list[URLPattern | URLResolver] = [
    path("<int:sms_media_id>/", media.media_view, name="media"),
]
