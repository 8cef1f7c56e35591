"""The bench's server settings: the test settings, plus the bench's URLs (a bare view and the
test provider's webhook endpoint beside the application's own)."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
