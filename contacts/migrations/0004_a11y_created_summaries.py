"""Older timelines said "Added from Manual", "Added from Open house": reword them the way new
entries are worded (contacts.models.CREATED_SUMMARIES). Data only; reversible."""

from django.db import migrations

# A copy, not an import: a migration keeps working whatever the model module says later.
OLD_TO_NEW = {
    "Added from Instagram": "Added from Instagram",
    "Added from SMS": "Added from a text message",
    "Added from Website": "Added from the website",
    "Added from Referral": "Added as a referral",
    "Added from Open house": "Added at an open house",
    "Added from Manual": "Added by hand",
    "Added from Import": "Added by an import",
}


def reword(apps, schema_editor, pairs):  # type: ignore[no-untyped-def]
    Activity = apps.get_model("contacts", "Activity")
    for old, new in pairs:
        if old != new:
            Activity._base_manager.filter(kind="created", summary=old).update(summary=new)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    reword(apps, schema_editor, OLD_TO_NEW.items())


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    reword(apps, schema_editor, [(new, old) for old, new in OLD_TO_NEW.items()])


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_tasks_repeat")]

    operations = [migrations.RunPython(forwards, backwards)]
