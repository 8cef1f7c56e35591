"""The User Profile API: who a person who wrote to the account is (name, username).

GET /vNN/<IGSID>?fields=name,username,... with the account's token. Harsh where Meta is:
- a person who never messaged the account (only commented, or unknown) gives "User consent is
  required to access user profile" (Meta's User Profile API docs: consent is set only when a person
  sends a message to the business). The code Meta attaches is not in the docs [U]; 230 is what
  Messenger integrations report, with HTTP 400 (the status is not reliable, §3.10);
- `name` is null when the person set none (the docs: "can be null if name not set");
- only the fields asked for come back, with `id` always (Graph API behaviour);
- the token must be live (code 190 from token_of, §3.10).

The route answers only ids it knows as people (`add_profile`); any other id gets Graph's
"does not exist" error, code 100 (§3.10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.base import RecordedRequest, Response
from integrations.sandbox.instagram.core import InstagramCore, graph_error, new_id, no_such_object

PROFILE_FIELDS = ("name", "username", "profile_pic", "follower_count", "is_verified_user")


@dataclass
class Profile:
    igsid: str
    username: str
    name: str | None = None
    profile_pic: str | None = None
    follower_count: int = 0
    is_verified_user: bool = False


class InstagramProfileRoutes(InstagramCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.profiles: dict[str, Profile] = {}
        super().__init__(*args, **kwargs)

    def reset_state(self) -> None:
        self.profiles.clear()
        super().reset_state()

    def add_profile(
        self, username: str, name: str | None = None, *, igsid: str | None = None
    ) -> Profile:
        """A person on Instagram (their IGSID, as the account sees them): they can write to it."""
        profile = Profile(igsid=igsid or new_id(16), username=username, name=name)
        with self.lock:
            self.profiles[profile.igsid] = profile
        return profile

    # Not routed here: GET /vNN/<id> is shared with containers and media; the emulator's
    # `graph_node` (__init__.py) sends an id it knows as a person here.
    def profile_get(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = self.token_of(request)
        if isinstance(token, Response):
            return token
        igsid = match["igsid"]
        with self.lock:
            profile = self.profiles.get(igsid)
            consented = (token.ig_user_id, igsid) in self.last_customer_message
        if profile is None:
            return no_such_object(igsid)
        if not consented:
            return graph_error(230, "(#230) User consent is required to access user profile")
        asked = (request.query.get("fields") or ["name"])[-1].split(",")
        body: dict[str, Any] = {
            field: getattr(profile, field) for field in PROFILE_FIELDS if field in asked
        }
        body["id"] = profile.igsid
        return Response(json=body)
