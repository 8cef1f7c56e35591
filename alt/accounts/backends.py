"""The authentication backends: Django's and allauth's, except that the user a session names is
read together with their memberships and workspaces, in one query.

Every signed-in page needs both: WorkspaceMiddleware picks the current membership among the ones
loaded here, where it used to ask the database a second time on each request. Nothing is cached
beyond the request: a removed member or a changed role shows on the very next request, as before.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from alt.accounts.models import Membership, User

_LOADED = "_loaded_memberships"


def loaded_memberships(user: object) -> list[Membership] | None:
    """The user's memberships (workspace joined, oldest first) as the backend read them with the
    user, or None for a user read some other way (a login in this request, a test's user)."""
    return getattr(user, _LOADED, None)


class _WithMemberships:
    """get_user() for ModelBackend and its subclasses: the user through their memberships."""

    def get_user(self, user_id: Any) -> User | None:
        memberships = list(
            Membership.objects.filter(user_id=user_id)
            .select_related("user", "workspace")
            .order_by("id")
        )
        if not memberships:  # a member of no workspace (yet): the user alone
            return super().get_user(user_id)  # type: ignore[misc]
        user = memberships[0].user
        for membership in memberships:
            membership.user = user  # one instance, as request.user and request.membership.user
        setattr(user, _LOADED, memberships)
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_WithMemberships, DjangoModelBackend):
    pass


class AuthenticationBackend(_WithMemberships, AllauthBackend):
    pass
