"""Give every workspace the preset lead sources and point each contact at the source its old
`source` choice named (the app's own keys, such as "sms" and "import", become sources too)."""

from typing import Any

from django.db import migrations

# Copied, not imported: a migration must not change when the model's presets do.
PRESETS = [
    ("zillow", "Zillow"), ("realtor_com", "Realtor.com"), ("redfin", "Redfin"),
    ("homes_com", "Homes.com"), ("open_house", "Open house"), ("sign_call", "Sign call"),
    ("referral", "Referral"), ("sphere", "Sphere"), ("past_client", "Past client"),
    ("website", "Website"), ("instagram", "Instagram"), ("facebook", "Facebook"),
    ("google", "Google"), ("manual", "Manual"),
]  # fmt: skip
OLD_CHOICES = {
    "instagram": "Instagram", "sms": "SMS", "website": "Website", "referral": "Referral",
    "open_house": "Open house", "manual": "Manual", "import": "Import",
}  # fmt: skip


def forwards(apps: Any, schema_editor: Any) -> None:
    # Historical models have only the unscoped default manager (TenantManager is not used in
    # migrations): this runs across every workspace, each query filtered by one.
    workspaces = apps.get_model("accounts", "Workspace")._default_manager
    contacts = apps.get_model("contacts", "Contact")._default_manager
    LeadSource = apps.get_model("contacts", "LeadSource")
    sources_of = LeadSource._default_manager
    for workspace in workspaces.all().iterator():
        used = set(contacts.filter(workspace=workspace).values_list("source", flat=True).distinct())
        wanted = list(PRESETS)
        known = {key for key, _name in PRESETS}
        wanted += [(key, OLD_CHOICES.get(key, key)) for key in sorted(used - known) if key]
        sources = sources_of.bulk_create(
            LeadSource(workspace=workspace, key=key, name=name, position=i)
            for i, (key, name) in enumerate(wanted)
        )
        for source in sources:
            if source.key in used:
                contacts.filter(workspace=workspace, source=source.key).update(lead_source=source)


def backwards(apps: Any, schema_editor: Any) -> None:
    contacts = apps.get_model("contacts", "Contact")._default_manager
    sources_of = apps.get_model("contacts", "LeadSource")._default_manager
    for source in sources_of.all().iterator():
        key = source.key if source.key in OLD_CHOICES else "manual"
        contacts.filter(lead_source=source).update(source=key)
    sources_of.all().delete()


class Migration(migrations.Migration):
    dependencies = [("contacts", "0006_imp_lead_sources_and_import_jobs")]

    operations = [migrations.RunPython(forwards, backwards)]
