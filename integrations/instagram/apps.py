from django.apps import AppConfig


class InstagramConfig(AppConfig):
    name = "integrations.instagram"
    label = "instagram"
    verbose_name = "Instagram"

    def ready(self) -> None:
        from contacts.inbox import channels
        from integrations.instagram.channel import InstagramChannel

        channels.register(InstagramChannel())
