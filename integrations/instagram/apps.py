from django.apps import AppConfig


class InstagramConfig(AppConfig):
    name = "integrations.instagram"
    label = "instagram"
    verbose_name = "Instagram"

    def ready(self) -> None:
        from integrations import webhooks as recipe
        from integrations.instagram import webhooks

        recipe.register(webhooks.receiver)
