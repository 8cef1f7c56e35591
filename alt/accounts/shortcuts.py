"""Small helpers the pages of every app share: how a member is named, and rendering a page in the
agent's own time zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from alt.accounts.decorators import WorkspaceRequest
from alt.accounts.models import User


def member_label(user: User) -> str:
    """How a member is named in select boxes and messages: their name, else their email."""
    return user.full_name or user.email


def render_local(
    request: WorkspaceRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """render(), with every date and time on the page read in the agent's own time zone."""
    with timezone.override(ZoneInfo(request.user.timezone)):
        return render(request, template, context, status=status)
