"""Settings -> SMS -> Reminders, included at settings/sms/reminders/ (the rest of Settings -> SMS
is integrations/twilio_sms/urls.py)."""

from django.urls import URLPattern, path

from integrations.twilio_sms import reminder_views

# Same namespace as integrations/twilio_sms/urls.py (url name twilio_sms:reminders): when both are
# included, alt/urls.py must include them as one namespace (see the merge note in reminder_urls).
app_name = "twilio_sms"

urlpatterns: list[URLPattern] = [
    path("", reminder_views.reminder_settings, name="reminders"),
]
