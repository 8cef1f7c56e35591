from django.urls import path

from integrations.google_calendar import views

app_name = "google_calendar"

urlpatterns = [
    path("", views.calendar_settings, name="settings"),
    path("connect/", views.connect, name="connect"),
    path("callback/", views.callback, name="callback"),
    path("disconnect/", views.disconnect, name="disconnect"),
]
