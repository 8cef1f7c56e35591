from django.apps import AppConfig


class InstagramConfig(AppConfig):
    name = "integrations.instagram"
    label = "instagram"
    verbose_name = "Instagram"

    def ready(self) -> None:
        from alt.accounts.settings_cards import SOCIAL_POSITION, register_settings_card
        from integrations.instagram import checks  # noqa: F401 (registers the system check)
        from integrations.instagram.settings_card import social_settings_card

        register_settings_card(social_settings_card, position=SOCIAL_POSITION)
