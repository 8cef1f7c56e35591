from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from alt.accounts import views as account_views
from contacts.dashboard import views as dashboard_views


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard" if request.user.is_authenticated else "account_login")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path(".well-known/security.txt", account_views.security_txt, name="security_txt"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("accounts/", include("allauth.urls")),
    path("settings/calendar/", include("integrations.google_calendar.urls")),
    path("settings/social/", include("integrations.instagram.urls")),
    path("webhooks/instagram/", include("integrations.instagram.webhook_urls")),
    path("webhooks/twilio/", include("integrations.twilio_sms.webhook_urls")),
    path("inbox/", include("contacts.inbox.urls")),
    path("", include("alt.accounts.urls")),
    path("", include("contacts.urls")),
    path("appointments/", include("appointments.urls")),
    path("", include("privacy.urls")),
    path("staff/", admin.site.urls),
]
