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
        # --- wire: Twilio's webhooks (inbound texts, delivery statuses) and the MMS media job ---
        from integrations import webhooks as recipe
        from integrations.twilio_sms import (
            media_tasks,  # noqa: F401 (registers the job)
            webhooks,
        )

        recipe.register(webhooks.inbound_receiver)
        recipe.register(webhooks.status_receiver)
