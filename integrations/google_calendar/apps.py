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

        from alt.accounts.signals import member_removing
        from integrations.google_calendar.receivers import disconnect_calendar_of_leaving_member

        member_removing.connect(
            disconnect_calendar_of_leaving_member, dispatch_uid="google_calendar.disconnect"
        )

        from alt.accounts.settings_cards import CALENDAR_POSITION, register_settings_card
        from integrations.google_calendar.settings_card import calendar_settings_card

        register_settings_card(calendar_settings_card, position=CALENDAR_POSITION)
        # --- the needs-reconnect banner on every page ---
        from alt.accounts.seams import register_banner_flag
        from integrations.google_calendar.connection import BANNER

        register_banner_flag(BANNER)
