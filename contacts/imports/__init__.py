"""CSV import: upload, column mapping, validation and the all-or-nothing write (a Celery task)."""
