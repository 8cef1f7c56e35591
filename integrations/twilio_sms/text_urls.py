"""Texting a contact (under /sms/): click-to-text next to every phone on the contact page."""

from django.urls import URLPattern, URLResolver, path

from integrations.twilio_sms import views

app_name = "sms"

urlpatterns: list[URLPattern | URLResolver] = [
    path("contacts/<int:contact_id>/text/", views.text_phone, name="text"),
]
