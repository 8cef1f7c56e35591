"""Inbound MMS media: the Media subresource and the CDN it redirects to (EXTERNAL_APIS.md §4.3).

- GET  /2010-04-01/Accounts/{AC}/Messages/{MM}/Media.json         the list
- GET  /2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME}.json    one Media resource
- DELETE the same .json                                           204 (Twilio lets you delete it)
- GET  /2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME}         the MediaUrlN of a delivery:
       307 to a short-lived CDN URL
- GET  /cdn/{AC}/{ME}?Expires=..&Signature=..                     the bytes, with their type

Harsh where Twilio is (each names its source):
- every Media URL needs HTTP Basic auth with the account's SID and token, else 401 20003 (§4.2).
  Twilio makes this an account setting ("HTTP Basic Authentication for media access",
  help.twilio.com/articles/223183748); the emulator always enforces it;
- an unknown media, or one of another message, is 404 20404 (§4.2);
- the media itself lives on another host: Twilio redirects to its CDN (mms.twiliocdn.com, a
  presigned URL; the brief's 307, a 302 is also observed). The emulator's CDN is another origin
  on the same server (`media_cdn_base`, http://localhost:PORT by default), its URLs expire after
  `media_cdn_seconds`, and like a presigned S3 URL it refuses a request that also carries an
  Authorization header (400 InvalidArgument, "Only one auth mechanism allowed"): a fetcher must
  not forward the account's credentials past the redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.twilio.core import (
    API_VERSION,
    StoredMedia,
    TwilioCore,
    rfc2822,
    twilio_error,
)

_MEDIA = r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages/(?P<msid>[SM]M[0-9a-f]{32})/Media"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(status, body=body.encode(), content_type="application/xml")


class TwilioMediaRoutes(TwilioCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.media_cdn_host = "localhost"  # another origin than the API's 127.0.0.1
        self.media_cdn_seconds = 300
        self._cdn_key = secrets.token_bytes(32)
        super().__init__(*args, **kwargs)

    @property
    def media_cdn_base(self) -> str:
        return f"http://{self.media_cdn_host}:{self.port}"

    def _media_of(self, request: RecordedRequest, match: re.Match[str]) -> StoredMedia | Response:
        account = self.authenticate(request, match["sid"])
        if isinstance(account, Response):
            return account
        with self.state_lock:
            item = self.media.get(match["mesid"])
        if item is None or (item.account_sid, item.message_sid) != (account.sid, match["msid"]):
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return item

    def _media_json(self, item: StoredMedia) -> dict[str, Any]:
        return {
            "account_sid": item.account_sid,
            "content_type": item.content_type,
            "date_created": rfc2822(item.created_at),
            "date_updated": rfc2822(item.created_at),
            "parent_sid": item.message_sid,
            "sid": item.sid,
            "uri": f"/{API_VERSION}/Accounts/{item.account_sid}/Messages/{item.message_sid}"
            f"/Media/{item.sid}.json",
        }

    @route("GET", _MEDIA + r"/(?P<mesid>ME[0-9a-f]{32})")
    def media_content(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        item = self._media_of(request, match)
        if isinstance(item, Response):
            return item
        expires = str(int(time.time()) + self.media_cdn_seconds)
        query = urlencode({"Expires": expires, "Signature": self._cdn_signature(item, expires)})
        location = f"{self.media_cdn_base}/cdn/{item.account_sid}/{item.sid}?{query}"
        return Response(307, headers={"Location": location}, content_type="text/plain")

    @route("GET", _MEDIA + r"/(?P<mesid>ME[0-9a-f]{32})\.json")
    def media_fetch(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        item = self._media_of(request, match)
        if isinstance(item, Response):
            return item
        return Response(200, json=self._media_json(item))

    @route("DELETE", _MEDIA + r"/(?P<mesid>ME[0-9a-f]{32})\.json")
    def media_delete(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        item = self._media_of(request, match)
        if isinstance(item, Response):
            return item
        with self.state_lock:
            self.media.pop(item.sid, None)
        return Response(204)

    @route("GET", _MEDIA + r"\.json")
    def media_list(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        account = self.authenticate(request, match["sid"])
        if isinstance(account, Response):
            return account
        with self.state_lock:
            items = [
                m
                for m in self.media.values()
                if (m.account_sid, m.message_sid) == (account.sid, match["msid"])
            ]
        uri = request.path
        return Response(
            200,
            json={
                "media_list": [self._media_json(m) for m in items],
                "end": max(0, len(items) - 1),
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": f"{uri}?PageSize=50&Page=0",
            },
        )

    @route("GET", r"^/cdn/(?P<sid>AC[0-9a-f]{32})/(?P<mesid>ME[0-9a-f]{32})")
    def media_cdn(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if "authorization" in request.headers:
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
            )
        expires = (request.query.get("Expires") or [""])[-1]
        signature = (request.query.get("Signature") or [""])[-1]
        with self.state_lock:
            item = self.media.get(match["mesid"])
        if item is None or item.account_sid != match["sid"]:
            return _s3_error(403, "AccessDenied", "Access Denied")
        if not secrets.compare_digest(signature, self._cdn_signature(item, expires)):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature does not match")
        if not expires.isdigit() or int(expires) < time.time():
            return _s3_error(403, "AccessDenied", "Request has expired")
        return Response(200, body=item.data, content_type=item.content_type)

    def _cdn_signature(self, item: StoredMedia, expires: str) -> str:
        message = f"{item.account_sid}/{item.sid}/{expires}".encode()
        return hmac.new(self._cdn_key, message, hashlib.sha256).hexdigest()
