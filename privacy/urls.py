from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("help/google-calendar/", views.google_calendar_help, name="help_google_calendar"),
    path("legal/security/", views.security_policy, name="security_policy"),
]
