"""Twilio calling ALT with an inbound text: signed, form-encoded deliveries (EXTERNAL_APIS.md §4.3).

`deliver_inbound` builds the whole documented parameter set, in the order real deliveries were
observed to list it, blank values kept (FromCity= is real and the signature covers it, §4.5), signs
it with the account's auth token over the exact URL, and POSTs it. Harsh where Twilio is:
- every parameter of §4.3: MessageSid/SmsSid/SmsMessageSid (the same SID), AccountSid,
  MessagingServiceSid when the number is in a service, From, To, Body, NumMedia, NumSegments,
  SmsStatus=received, ApiVersion, From*/To* geography (blank when Twilio has none);
- media as MediaUrlN/MediaContentTypeN, N from 0, at most 10 (Twilio's MMS limit,
  twilio.com/docs/messaging/guides/accepted-mime-types); the URLs need the account's credentials
  (media.py);
- an MMS SID starts with MM, an SMS SID with SM (§4.1);
- STOP/START/HELP: the whole body, case-insensitive, the full synonym lists (§4.6); STOP and START
  change the emulator's opt-out set for the number (and each service holding it: §4.6 "every
  number in the Messaging Service"), Twilio answers with its own auto-reply, and the text is still
  forwarded, with OptOutType when the service has Advanced Opt-Out (§4.3, §4.6);
- a retry (`repeat`) re-sends the same MessageSid, the same body and signature, and the same
  I-Twilio-Idempotency-Token (twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from integrations.sandbox.twilio.callbacks import twilio_webhook_signer
from integrations.sandbox.twilio.core import (
    API_VERSION,
    StoredMedia,
    StoredMessage,
    TwilioCore,
    new_sid,
    rfc2822,
)
from integrations.sandbox.twilio.messaging import segments
from integrations.sandbox.webhooks import deliver, twilio_form_body

MAX_MEDIA = 10  # NumMedia is at most 10 (Twilio MMS limit)

# §4.6: Twilio's default keywords on long codes and toll-free numbers.
OPT_OUT_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
OPT_IN_KEYWORDS = ("START", "YES", "UNSTOP")
HELP_KEYWORDS = ("HELP", "INFO")

# Twilio's default auto-replies (twilio.com/docs/messaging/tutorials/advanced-opt-out, defaults).
AUTO_REPLIES = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply HELP "
    "for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}

# Geography Twilio sends for a few area codes (the docs' NASHUA/NH/03049 sample, §4.3); any other
# number gets blank City/State/Zip, as mobile numbers often do, and a country from its prefix.
_AREA_CODES: dict[str, tuple[str, str, str, str]] = {
    "603": ("NASHUA", "NH", "03049", "US"),
    "415": ("SAN FRANCISCO", "CA", "94108", "US"),
    "212": ("NEW YORK", "NY", "10001", "US"),
    "305": ("MIAMI", "FL", "33131", "US"),
    "512": ("AUSTIN", "TX", "78701", "US"),
    "808": ("HONOLULU", "HI", "96813", "US"),
    "416": ("TORONTO", "ON", "", "CA"),
    "604": ("VANCOUVER", "BC", "", "CA"),
}
_COUNTRY_CODES = {"44": "GB", "52": "MX", "33": "FR", "49": "DE", "34": "ES", "61": "AU"}


def keyword_of(body: str) -> str | None:
    """ "STOP", "START" or "HELP" when the whole body is one of its keywords (§4.6), else None."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return "STOP"
    if word in OPT_IN_KEYWORDS:
        return "START"
    if word in HELP_KEYWORDS:
        return "HELP"
    return None


def geography(number: str) -> tuple[str, str, str, str]:
    """(City, State, Zip, Country) as Twilio fills From*/To* for `number`; blanks when unknown."""
    if number.startswith("+1"):
        return _AREA_CODES.get(number[2:5], ("", "", "", "US"))
    for prefix, country in _COUNTRY_CODES.items():
        if number.startswith("+" + prefix):
            return ("", "", "", country)
    return ("", "", "", "")


def inbound_params(
    *,
    message_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    media_urls: Sequence[tuple[str, str]] = (),
    messaging_service_sid: str = "",
    opt_out_type: str = "",
) -> dict[str, str]:
    """The form of an inbound delivery, keys in the order observed in real ones (§4.3): Twilio
    does not sort them, and the signature sorts them itself (§4.5). `media_urls` holds
    (content type, URL) pairs."""
    from_city, from_state, from_zip, from_country = geography(from_)
    to_city, to_state, to_zip, to_country = geography(to)
    params: dict[str, str] = {
        "ToCountry": to_country,
        "ToState": to_state,
        "SmsMessageSid": message_sid,
        "NumMedia": str(len(media_urls)),
    }
    for n, (content_type, _url) in enumerate(media_urls):
        params[f"MediaContentType{n}"] = content_type
    params |= {
        "ToCity": to_city,
        "FromZip": from_zip,
        "SmsSid": message_sid,
        "FromState": from_state,
        "SmsStatus": "received",
        "FromCity": from_city,
        "Body": body,
        "FromCountry": from_country,
        "To": to,
    }
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    if opt_out_type:
        params["OptOutType"] = opt_out_type
    params |= {"ToZip": to_zip, "NumSegments": str(max(1, segments(body)))}
    for n, (_content_type, url) in enumerate(media_urls):
        params[f"MediaUrl{n}"] = url
    params |= {
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    return params


class TwilioInboundDeliveries(TwilioCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Where the console delivers texts: the public URL ALT told Twilio (TWILIO_PUBLIC_BASE_URL,
        # else SITE_URL, as alt/settings.py defaults it) + the inbound webhook path.
        site = (
            os.environ.get("TWILIO_PUBLIC_BASE_URL")
            or os.environ.get("SITE_URL")
            or "http://127.0.0.1:8000"
        ).rstrip("/")
        self.inbound_url = f"{site}/webhooks/twilio/sms/"
        super().__init__(*args, **kwargs)

    def deliver_inbound(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[tuple[str, bytes]] = (),
        account_sid: str | None = None,
        message_sid: str | None = None,
        repeat: int = 0,
        signature_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> list[httpx.Response]:
        """Text `to` (a number of an emulated account) from `from_`: POST Twilio's inbound
        delivery to `url`, signed by the owning account's auth token (or `account_sid`'s) over
        `url`, or over `signature_url` (a proxy that rewrote the URL, §9 item 16). `media` holds
        (content type, bytes) pairs, served afterwards at the MediaUrlN it sends. `repeat`
        re-sends it unchanged (Twilio's retry); `headers` are added as a proxy would.

        Side effects on the emulator: the message is stored (GET Messages/{sid}.json), a keyword
        updates the opt-out set and stores Twilio's auto-reply (§4.6). Returns ALT's answers.
        Raises ValueError for a `to` no account owns (without `account_sid`) or more than 10
        media."""
        if len(media) > MAX_MEDIA:
            raise ValueError(f"Twilio delivers at most {MAX_MEDIA} media per message")
        owner = self.owner_of_number(to)
        with self.state_lock:
            account = (
                self.accounts.get(account_sid)
                if account_sid
                else (owner[0] if owner is not None else None)
            )
            if account is None:
                raise ValueError(f"no emulated account owns {to} (add_account(numbers=[...]))")
            services = owner[1] if owner is not None and owner[0] is account else []
            service = services[0] if services else ""
            advanced = bool(service) and service in account.advanced_opt_out
        sid = message_sid or new_sid("MM" if media else "SM")
        media_urls = self._store_media(account.sid, sid, media)
        keyword = keyword_of(body)
        if keyword is not None:
            self._keyword(keyword, number=to, services=services, phone=from_, account=account.sid)
        params = inbound_params(
            message_sid=sid,
            account_sid=account.sid,
            from_=from_,
            to=to,
            body=body,
            media_urls=media_urls,
            messaging_service_sid=service,
            opt_out_type=keyword if keyword is not None and advanced else "",
        )
        self._store_inbound(params)
        signer = twilio_webhook_signer(
            account.auth_token,
            idempotency_token=f"{sid}-{secrets.token_hex(8)}",
            sign_url=signature_url,
        )
        raw = twilio_form_body(params)

        def sign(payload: bytes, target: str) -> dict[str, str]:
            return {**signer(payload, target), **(headers or {})}

        return [deliver(url, raw, sign, timeout=timeout) for _ in range(1 + max(0, repeat))]

    # -- state ---------------------------------------------------------------------------------
    def _store_media(
        self, account_sid: str, message_sid: str, media: Sequence[tuple[str, bytes]]
    ) -> list[tuple[str, str]]:
        urls: list[tuple[str, str]] = []
        with self.state_lock:
            for content_type, data in media:
                item = StoredMedia(
                    sid=new_sid("ME"),
                    message_sid=message_sid,
                    account_sid=account_sid,
                    content_type=content_type,
                    data=bytes(data),
                )
                self.media[item.sid] = item
                path = (
                    f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}/Media/{item.sid}"
                )
                urls.append((content_type, self.base_url + path))
        return urls

    def _store_inbound(self, params: Mapping[str, str]) -> None:
        """The inbound message as GET Messages/{sid}.json shows it (direction inbound)."""
        sid, account_sid = params["MessageSid"], params["AccountSid"]
        now = rfc2822()
        resource: dict[str, Any] = {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": params["Body"],
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "inbound",
            "error_code": None,
            "error_message": None,
            "from": params["From"],
            "messaging_service_sid": params.get("MessagingServiceSid") or None,
            "num_media": params["NumMedia"],
            "num_segments": params["NumSegments"],
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "received",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"
            },
            "to": params["To"],
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }
        with self.state_lock:
            self.messages.setdefault(sid, StoredMessage(resource=resource))

    def _keyword(
        self, keyword: str, *, number: str, services: Sequence[str], phone: str, account: str
    ) -> None:
        """STOP/START change the opt-out set for the number and its services; each keyword gets
        Twilio's auto-reply, stored as an outbound-reply message (§4.6)."""
        for sender in (number, *services):
            if keyword == "STOP":
                self.opt_out(sender, phone)
            elif keyword == "START":
                self.opt_in(sender, phone)
        sid = new_sid("SM")
        now = rfc2822()
        reply: dict[str, Any] = {
            "account_sid": account,
            "api_version": API_VERSION,
            "body": AUTO_REPLIES[keyword],
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "outbound-reply",
            "error_code": None,
            "error_message": None,
            "from": number,
            "messaging_service_sid": services[0] if services else None,
            "num_media": "0",
            "num_segments": str(segments(AUTO_REPLIES[keyword])),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "delivered",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}/Media.json"
            },
            "to": phone,
            "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json",
        }
        with self.state_lock:
            self.messages[sid] = StoredMessage(resource=reply)
