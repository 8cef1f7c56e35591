from django.apps import AppConfig


class TwilioSmsConfig(AppConfig):
    name = "integrations.twilio_sms"
    label = "twilio_sms"
    verbose_name = "SMS (Twilio)"

    def ready(self) -> None:
        # Each part registers its seams here (the Channel, the webhook receivers, the settings
        # card, the appointment reminder hooks), as integrations/instagram/apps.py does.
        # --- inbox: the number an SMS thread with a contact's number is opened from ---
        from contacts.inbox import accounts
        from integrations.twilio_sms.inbox import sms_channel_account

        accounts.register("sms", sms_channel_account)
        # --- wire: Twilio's webhooks (inbound texts, delivery statuses) and the MMS media job ---
        from integrations import webhooks as recipe
        from integrations.twilio_sms import webhooks

        recipe.register(webhooks.inbound_receiver)
        recipe.register(webhooks.status_receiver)
