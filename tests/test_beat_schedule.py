"""Every periodic job is on the beat schedule production runs (CONVENTIONS.md: declared in one
place, CELERY_BEAT_SCHEDULE), and the test settings do not replace it."""

from __future__ import annotations

import importlib.util

from django.conf import settings

from alt.celery import app

# Each job whose loss would go unnoticed: reminders never sent, deleted contacts never purged,
# calendar pushes and webhook deliveries whose broker message was lost never retried, imports
# left "importing" forever by a killed worker, Instagram posts left "publishing" by a lost
# message, Instagram insights never refreshed, Instagram tokens left to expire, held texts
# (quiet hours, reminders) never sent.
PERIODIC_JOBS = {
    "contacts.tasks.reminders.task_reminders_send": 60.0,
    "contacts.tasks.purge.contacts_purge_deleted": 3600.0,
    "appointments.tasks.appointment_reminders_send": 60.0,
    "integrations.twilio_sms.reminders.sms_reminders_send": 120.0,
    "contacts.tasks.bulk_jobs_sweep": 60.0,
    "contacts.tasks.imports.contacts_imports_sweep_stale": 60.0,
    "integrations.google_calendar.tasks.calendar_sync_sweep": 60.0,
    "integrations.tasks.inbound_events_sweep": 60.0,
    "contacts.tasks.inbox_message_changes_purge": 86400.0,
    "contacts.tasks.inbox_scheduled_sends": 60.0,
    "integrations.instagram.tasks.instagram_tokens_refresh": 3600.0,
    "integrations.instagram.tasks.instagram_posts_sweep": 60.0,
    "integrations.instagram.tasks.instagram_insights_refresh_due": 3600.0,
}


def test_every_periodic_job_is_scheduled_in_production_settings_and_tests_do_not_hide_it() -> None:
    spec = importlib.util.find_spec("alt.settings")
    assert spec is not None
    assert spec.loader is not None
    production = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(production)

    schedule = {e["task"]: float(e["schedule"]) for e in production.CELERY_BEAT_SCHEDULE.values()}

    assert schedule == PERIODIC_JOBS
    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks.py
    assert set(schedule) <= set(app.tasks)  # each name is a real, registered task
    assert production.CELERY_BEAT_SCHEDULE == settings.CELERY_BEAT_SCHEDULE
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE  # what `celery beat` reads
