"""Celery tasks of the contacts app, one module per area (Celery autodiscovers this package)."""

from contacts.tasks.imports import *  # noqa: F403
from contacts.tasks.purge import *  # noqa: F403
from contacts.tasks.reminders import *  # noqa: F403
