from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.middleware import HtmxDetails

from alt.accounts.models import Membership, User, Workspace


class WorkspaceRequest(HttpRequest):
    """What a view behind @workspace_required receives (for type checkers; same object)."""

    user: User
    workspace: Workspace
    membership: Membership
    htmx: HtmxDetails  # set by django_htmx's HtmxMiddleware on every request


def workspace_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in and a member of a workspace; `request.workspace` is then never None."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "workspace", None) is None:
            return redirect("accounts:workspace_new")
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only a workspace owner may manage the team."""

    @workspace_required
    @wraps(view)
    def wrapper(request: WorkspaceRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_owner:
            raise PermissionDenied("Only the workspace owner can do this.")
        return view(request, *args, **kwargs)

    return wrapper
