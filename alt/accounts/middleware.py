from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from alt.accounts.backends import loaded_memberships
from alt.accounts.models import Membership

SESSION_KEY = "workspace_id"
# The hash of the token of the invite link an anonymous visitor opened (like the database, the
# session never holds the token itself): signing up or in then joins that workspace instead of
# creating one of their own (alt.accounts.adapter).
PENDING_INVITE_KEY = "pending_invite_token_hash"


def _current_membership(request: HttpRequest) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = loaded_memberships(user)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=user).select_related("workspace").order_by("id")
        )
    wanted = str(request.session.get(SESSION_KEY))
    chosen = next((m for m in memberships if str(m.workspace_id) == wanted), None)
    return chosen or (memberships[0] if memberships else None)


class WorkspaceMiddleware:
    """Puts the signed-in user's current membership and workspace on the request.

    Views never take a workspace id from the URL: the workspace always comes from here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = _current_membership(request)
        request.membership = membership  # type: ignore[attr-defined]
        request.workspace = membership.workspace if membership else None  # type: ignore[attr-defined]
        return self.get_response(request)
