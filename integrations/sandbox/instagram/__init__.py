"""Meta's Instagram API with Instagram Login, emulated on one loopback port (EXTERNAL_APIS.md §3).

The three real hosts share one server here, told apart by path as the real ones are:
- www.instagram.com    GET  /oauth/authorize                  (oauth.py)
- api.instagram.com    POST /oauth/access_token               (oauth.py)
- graph.instagram.com  GET  /access_token, /refresh_access_token (unversioned, oauth.py) and
                       /v23.0/...: /me (oauth.py), the Send API (messaging.py), comments,
                       media, publishing and insights (media.py), the people who
                       wrote to the account (profiles.py)

core.py holds the state every part reads (accounts and their tokens, the customers' last
messages that open the 24-hour window, comments, media) and the Graph error shape. Each part is
a mixin with its own routes; `InstagramEmulator` puts them together. Deliveries of signed
webhooks (Meta calling ALT) are built in deliveries.py, and sent by hand from the sandbox
console (console.py, GET /console) when `make run` has no Meta app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.instagram.console import InstagramConsoleRoutes
from integrations.sandbox.instagram.core import InstagramCore
from integrations.sandbox.instagram.media import InstagramMediaRoutes
from integrations.sandbox.instagram.messaging import InstagramMessagingRoutes
from integrations.sandbox.instagram.oauth import InstagramOAuthRoutes
from integrations.sandbox.instagram.profiles import InstagramProfileRoutes


class InstagramEmulator(
    InstagramOAuthRoutes,
    InstagramMessagingRoutes,
    InstagramMediaRoutes,
    InstagramProfileRoutes,
    InstagramConsoleRoutes,
    InstagramCore,
):
    name = "instagram"
    default_port = 8027

    @route("GET", r"/v\d+\.\d+/(?P<object_id>\d+)")
    def graph_node(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        """GET /vNN/<id>: on the real Graph API one path serves every node type, so the node is
        found by its id: a person (the User Profile API, profiles.py), else a publishing
        container or a media (media.py), which answers code 100 for an id it does not know."""
        object_id = match["object_id"]
        with self.lock:
            is_person = object_id in self.profiles
        if is_person:
            person = re.match(r"/v\d+\.\d+/(?P<igsid>\d+)", request.path)
            assert person is not None
            return self.profile_get(request, person)
        return self.media_object(request, match)

    @classmethod
    def sandbox_settings(cls, base_url: str, env: Mapping[str, str]) -> dict[str, str]:
        """Instagram comes here, with the sandbox app, unless a real app is configured."""
        if env.get("INSTAGRAM_APP_ID"):
            return {}
        return {
            "INSTAGRAM_APP_ID": cls.default_app_id,
            "INSTAGRAM_APP_SECRET": cls.default_app_secret,
            "INSTAGRAM_WEBHOOK_VERIFY_TOKEN": cls.default_verify_token,
            "INSTAGRAM_OAUTH_AUTHORIZE_URL": f"{base_url}/oauth/authorize",
            "INSTAGRAM_OAUTH_TOKEN_URL": f"{base_url}/oauth/access_token",
            "INSTAGRAM_GRAPH_API_URL": f"{base_url}/",
        }
