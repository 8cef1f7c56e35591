"""`{% fixed_url "name" %}`: a URL without arguments, reversed once per URLconf and script prefix.

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
