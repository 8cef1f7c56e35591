from django.apps import AppConfig


class TwilioSmsConfig(AppConfig):
    name = "integrations.twilio_sms"
    label = "twilio_sms"
    verbose_name = "SMS (Twilio)"

    def ready(self) -> None:
        # Each part registers its seams here (the Channel, the webhook receivers, the settings
        # card, the appointment reminder hooks), as integrations/instagram/apps.py does.
        from contacts.inbox import accounts
        from integrations.twilio_sms.inbox import sms_channel_account

        # The inbox opens an SMS thread with a contact's number from the workspace's number.
        accounts.register("sms", sms_channel_account)
