"""Settings -> SMS -> Reminders, included at settings/sms/reminders/ (the rest of Settings -> SMS
is integrations/twilio_sms/urls.py)."""

from django.urls import URLPattern, path

from integrations.twilio_sms import reminder_views

# The same namespace as integrations/twilio_sms/urls.py (url name twilio_sms:reminders). Django
# resolves a namespace to one include only, so once both exist, include them as one, e.g. in
# alt/urls.py: path("settings/sms/", include((
#     [path("reminders/", include(reminder_urls.urlpatterns)), *urls.urlpatterns], "twilio_sms")))
app_name = "twilio_sms"

urlpatterns: list[URLPattern] = [
    path("", reminder_views.reminder_settings, name="reminders"),
]
