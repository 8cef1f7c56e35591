"""`{% fixed_url "name" %}`: a URL without arguments, reversed once per URLconf and script prefix;
`{% id_url "name" id %}`: a URL whose one argument is an id, from the same cache (the URL around
the id is reversed once, the id put in between).

Every page's layout (base.html) and the contact list link to a dozen such URLs; reverse() costs as
much as rendering a table row, on every load. Lives here, at the bottom of the apps, so the shared
layout can use it.
"""

from __future__ import annotations

import functools

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@register.simple_tag
def fixed_url(name: str) -> str:
    """`{% url name %}` for a URL without arguments, from a cache keyed by the URLconf and the
    script prefix (so a test's ROOT_URLCONF or a deployment under a prefix gets its own)."""
    return _reversed(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@functools.lru_cache(maxsize=256)
def _reversed(name: str, urlconf: str, script_prefix: str) -> str:
    # reverse() reads the script prefix itself; it is in the key so that each prefix has its own.
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def id_url(name: str, object_id: int) -> str:
    """`{% url name object_id %}` for a URL whose one argument is an integer id."""
    before, after = url_around_id(name)
    return f"{before}{int(object_id)}{after}"


_SENTINEL_ID = 987654321987


def url_around_id(name: str) -> tuple[str, str]:
    """The URL named `name` for an id, as what comes before and after the id (cached like
    fixed_url)."""
    return _around(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@functools.lru_cache(maxsize=256)
def _around(name: str, urlconf: str, script_prefix: str) -> tuple[str, str]:
    before, _, after = reverse(name, args=[_SENTINEL_ID], urlconf=urlconf).partition(
        str(_SENTINEL_ID)
    )
    return before, after
