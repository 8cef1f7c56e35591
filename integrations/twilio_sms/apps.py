from django.apps import AppConfig


class TwilioSmsConfig(AppConfig):
    name = "integrations.twilio_sms"
    label = "twilio_sms"
    verbose_name = "SMS (Twilio)"

    def ready(self) -> None:
        # Each part registers its seams here (the Channel, the webhook receivers, the settings
        # card, the appointment reminder hooks), as integrations/instagram/apps.py does.
        # --- Appointment reminders (helper "consent"): the beat task and the appointment page ---
        from alt.accounts.seams import register_appointment_panel
        from integrations.twilio_sms import reminders

        register_appointment_panel(reminders.appointment_panel)
        # --- inbox: the number an SMS thread with a contact's number is opened from ---
        from contacts.inbox import accounts
        from integrations.twilio_sms.inbox import sms_channel_account

        accounts.register("sms", sms_channel_account)
        # --- wire: Twilio's webhooks (inbound texts, delivery statuses) and the MMS media job ---
        from integrations import webhooks as recipe
        from integrations.twilio_sms import (
            media_tasks,  # noqa: F401 (registers the job)
            webhooks,
        )

        recipe.register(webhooks.inbound_receiver)
        recipe.register(webhooks.status_receiver)
        from alt.accounts.settings_cards import SMS_POSITION, register_settings_card
        from contacts.inbox.channels import register
        from integrations.twilio_sms.channel import SmsChannel
        from integrations.twilio_sms.settings_card import sms_settings_card

        register(SmsChannel())
        from contacts.bulk.services import register_bulk_action
        from contacts.models import BulkJob
        from integrations.twilio_sms.bulk import bulk_sms_apply

        register_bulk_action(BulkJob.Action.SMS, bulk_sms_apply)
        register_settings_card(sms_settings_card, position=SMS_POSITION)
        from alt.accounts.seams import register_banner_flag
        from integrations.twilio_sms.banner import BANNER

        register_banner_flag(BANNER)
