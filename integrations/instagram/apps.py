from django.apps import AppConfig


class InstagramConfig(AppConfig):
    name = "integrations.instagram"
    label = "instagram"
    verbose_name = "Instagram"

    def ready(self) -> None:
        # --- Insights: the dashboard card ---
        from alt.accounts.seams import register_dashboard_card
        from integrations.instagram.insights import insights_card

        register_dashboard_card(insights_card)
