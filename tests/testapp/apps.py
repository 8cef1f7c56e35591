from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """Models that exist only in the test database (no migrations: the test runner syncs them)."""

    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"
