"""Cache headers: signed-in pages and the contacts export are never stored; signed-out pages, static
files and responses a view marked public keep their own caching."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.cache import cache_control

pytestmark = pytest.mark.django_db


@cache_control(public=True, max_age=3600)
def public_asset(request: HttpRequest) -> HttpResponse:
    return HttpResponse("body { color: black }", content_type="text/css")


# Test-only URLconf (@pytest.mark.urls below): a view that marks its response public itself.
urlpatterns = [path("public-asset.css", public_asset)]


def _directives(response: Any) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.parametrize("url", ["/dashboard/", "/settings/account/", "/contacts/"])
def test_a_signed_in_page_is_never_stored_by_a_browser_or_a_shared_cache(
    alice_client: Client, url: str
) -> None:
    response = alice_client.get(url)

    assert response.status_code == 200
    assert {"private", "no-store"} <= _directives(response)
    assert "public" not in _directives(response)


def test_the_contacts_export_download_is_never_stored(alice_client: Client) -> None:
    response = alice_client.get("/contacts/export.csv")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert {"private", "no-store"} <= _directives(response)


def test_a_signed_out_page_keeps_its_own_caching(client: Client) -> None:
    response = client.get("/.well-known/security.txt")

    assert "no-store" not in _directives(response)


def test_a_static_file_keeps_its_public_caching_for_a_signed_in_user(
    alice_client: Client,
) -> None:
    response = alice_client.get("/static/css/app.css")

    assert response.status_code == 200
    assert "no-store" not in _directives(response)


@pytest.mark.urls("tests.test_cache_headers")
def test_a_response_the_view_marked_public_is_left_alone(alice_client: Client) -> None:
    response = alice_client.get("/public-asset.css")

    assert _directives(response) == {"public", "max-age=3600"}
