from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "alt.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import pre_save

        from alt.accounts import checks  # noqa: F401  (registers system checks)
        from alt.accounts.mfa import authenticator_encrypt_on_save

        # allauth's Authenticator is not ours to change: its secrets are encrypted on every save.
        pre_save.connect(
            authenticator_encrypt_on_save,
            sender="mfa.Authenticator",
            dispatch_uid="alt.accounts.mfa.encrypt_on_save",
        )
