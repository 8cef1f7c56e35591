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


def test_clients_share_one_tls_context_that_still_verifies_certificates(
    settings: Any, monkeypatch: Any
) -> None:
    import ssl

    import httpx

    settings.EXAMPLE_API_URL = "https://127.0.0.1:9/v1/"
    settings.EXAMPLE_HTTP_TIMEOUT_SECONDS = 7
    built: list[ssl.SSLContext] = []
    real = httpx.Client.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs["verify"])
        real(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", spy)
    for _ in range(2):
        with http_client(
            base_url_setting="EXAMPLE_API_URL", timeout_setting="EXAMPLE_HTTP_TIMEOUT_SECONDS"
        ):
            pass

    first, second = built
    assert first is second
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname is True
