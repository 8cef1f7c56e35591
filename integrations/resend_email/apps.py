from django.apps import AppConfig


class ResendEmailConfig(AppConfig):
    name = "integrations.resend_email"
    label = "resend_email"
