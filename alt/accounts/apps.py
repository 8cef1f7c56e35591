from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "alt.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from alt.accounts import checks  # noqa: F401  (registers system checks)
