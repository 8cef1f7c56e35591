from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """Models that exist only in the test database (no migrations: the test runner syncs them)."""

    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tests.testapp import webhooks  # noqa: F401  (registers the test webhook provider)
