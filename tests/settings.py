"""alt.settings with the few values a test run needs that production must never default."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
# A fixed test key ("test") and an older one ("old") so rotation can be exercised.
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    "test:dGVzdC1rZXktMzItYnl0ZXMtZm9yLWFlcy0yNTYtZ2M=,old:b2xkLWtleS0zMi1ieXRlcy1mb3ItYWVzLTI1Ni1nY20=",
)
os.environ.setdefault("ALT_HTTPS", "0")  # the test client and live server speak plain http
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# The outbox by default; the worker subprocess is pointed at the Resend emulator instead.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("CELERY_QUEUE", f"alt-test-{os.getpid()}")
# The run's own cache namespace; the Celery worker subprocess inherits it, so what the worker
# writes (import progress) or forgets (the calendar banner flag) is what the test process reads.
os.environ.setdefault("CACHE_KEY_PREFIX", f"alt-test-{os.getpid()}")

from alt.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405  (test-only models)

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

# WhiteNoise warns at start-up when STATIC_ROOT is missing; tests serve from static/ via finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True
