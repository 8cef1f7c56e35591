from django.apps import AppConfig


class GoogleCalendarConfig(AppConfig):
    name = "integrations.google_calendar"
    label = "google_calendar"
    verbose_name = "Google Calendar sync"

    def ready(self) -> None:
        from appointments import sync
        from integrations.google_calendar import checks  # noqa: F401 (registers the system check)
        from integrations.google_calendar.services import GoogleCalendarSync

        sync.register(GoogleCalendarSync())
