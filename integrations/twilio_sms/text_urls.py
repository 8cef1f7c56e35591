"""Texting contacts (under /sms/): click-to-text next to every phone on the contact page, and
the contact list's bulk "Text" with its preview."""

from django.urls import URLPattern, URLResolver, path

from integrations.twilio_sms import views

app_name = "sms"

urlpatterns: list[URLPattern | URLResolver] = [
    path("contacts/<int:contact_id>/text/", views.text_phone, name="text"),
    path("bulk/", views.bulk_text, name="bulk"),
]
