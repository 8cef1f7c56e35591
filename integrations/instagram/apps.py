from django.apps import AppConfig


class InstagramConfig(AppConfig):
    name = "integrations.instagram"
    label = "instagram"
    verbose_name = "Instagram"

    def ready(self) -> None:
        from contacts.inbox.signals import message_received
        from integrations.instagram import comment_tasks  # noqa: F401 (registers the jobs)
        from integrations.instagram.signals import comment_received
        from integrations.instagram.triggers import on_comment_received, on_message_received

        comment_received.connect(on_comment_received, dispatch_uid="instagram.keyword_triggers")
        message_received.connect(on_message_received, dispatch_uid="instagram.keyword_dm_triggers")
        from alt.accounts.settings_cards import SOCIAL_POSITION, register_settings_card
        from integrations.instagram import checks  # noqa: F401 (registers the system check)
        from integrations.instagram.settings_card import social_settings_card

        register_settings_card(social_settings_card, position=SOCIAL_POSITION)
        # --- Insights: the dashboard card ---
        from alt.accounts.seams import register_dashboard_card
        from integrations.instagram.insights import insights_card

        register_dashboard_card(insights_card)
        from contacts.inbox import channels
        from integrations.instagram.channel import InstagramChannel

        channels.register(InstagramChannel())
        from integrations import webhooks as recipe
        from integrations.instagram import webhooks

        recipe.register(webhooks.receiver)
        # --- the needs-reconnect banner on every page ---
        from alt.accounts.seams import register_banner_flag
        from integrations.instagram.services import BANNER

        register_banner_flag(BANNER)
