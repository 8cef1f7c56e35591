"""Jobs undone before undo could run in the worker were undone in the request: mark them done."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("contacts", "0011_bulk_job_undo_in_worker")]

    operations = [
        migrations.RunSQL(
            "UPDATE contacts_bulkjob SET undo_state = 'done' "
            "WHERE undone_at IS NOT NULL AND undo_state = ''",
            migrations.RunSQL.noop,
        )
    ]
