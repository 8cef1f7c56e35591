from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self) -> None:
        from alt.accounts.signals import workspace_created
        from contacts.pipeline.receivers import (
            create_default_lead_sources,
            create_default_pipeline,
        )

        workspace_created.connect(create_default_pipeline, dispatch_uid="contacts.default_pipeline")
        workspace_created.connect(
            create_default_lead_sources, dispatch_uid="contacts.default_lead_sources"
        )

        from contacts.dashboard.speed import message_received_receiver
        from contacts.inbox.signals import message_received

        # A new message changes speed to lead: its cached numbers are recomputed.
        message_received.connect(message_received_receiver, dispatch_uid="contacts.speed_to_lead")
