from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from integrations.http import http_client


def test_the_client_takes_its_base_url_and_timeout_from_settings(settings: Any) -> None:
    settings.EXAMPLE_API_URL = "http://127.0.0.1:9/v1/"
    settings.EXAMPLE_HTTP_TIMEOUT_SECONDS = 7

    with http_client(
        base_url_setting="EXAMPLE_API_URL",
        timeout_setting="EXAMPLE_HTTP_TIMEOUT_SECONDS",
        headers={"Authorization": "Bearer k"},
    ) as client:
        assert str(client.base_url) == "http://127.0.0.1:9/v1/"
        assert client.timeout.read == 7.0
        assert client.timeout.connect == 7.0
        assert client.headers["Authorization"] == "Bearer k"
        assert client.follow_redirects is False


def test_a_missing_or_empty_setting_fails_loudly(settings: Any) -> None:
    settings.EXAMPLE_API_URL = ""
    settings.EXAMPLE_HTTP_TIMEOUT_SECONDS = 7

    with pytest.raises(ImproperlyConfigured, match="EXAMPLE_API_URL"):
        http_client(
            base_url_setting="EXAMPLE_API_URL", timeout_setting="EXAMPLE_HTTP_TIMEOUT_SECONDS"
        )
    with pytest.raises(ImproperlyConfigured, match="NO_SUCH_TIMEOUT"):
        http_client(base_url_setting="GOOGLE_CALENDAR_API_URL", timeout_setting="NO_SUCH_TIMEOUT")
