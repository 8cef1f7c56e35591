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
