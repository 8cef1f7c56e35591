"""Contact.source becomes the LeadSource foreign key (after 0004 copied each choice across)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("contacts", "0007_imp_lead_sources_data")]

    operations = [
        migrations.RemoveField(model_name="contact", name="source"),
        migrations.RenameField(model_name="contact", old_name="lead_source", new_name="source"),
    ]
