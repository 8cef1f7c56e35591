"""The only module that talks to Twilio: the official `twilio` client, pointed at
settings.TWILIO_API_URL (EXTERNAL_APIS.md §0: `client.api.base_url`), and Twilio's errors turned
into SmsError with words a person understands (§4.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from alt.lib.errors import IntegrationError

_SENDER_NOT_OWNED = (
    "sender_not_owned",
    "Your Twilio account cannot send from this number. Check the number on Settings -> SMS.",
    True,
)
# Twilio error codes (§4.2) -> (our code, plain words, permanent).
_KNOWN: dict[int, tuple[str, str, bool]] = {
    21610: (
        "opted_out",
        "This number opted out of texts from you (they texted STOP). They must text START first.",
        True,
    ),
    21211: ("invalid_number", "That is not a valid phone number.", True),
    21614: ("not_mobile", "That number cannot receive text messages (not a mobile number).", True),
    21408: (
        "region_blocked",
        "Your Twilio account is not allowed to text that country. Enable it in Twilio's "
        "geographic permissions.",
        True,
    ),
    21602: ("empty", "The message is empty.", True),
    21617: ("too_long", "The message is longer than 1,600 characters.", True),
    21606: _SENDER_NOT_OWNED,
    21659: _SENDER_NOT_OWNED,
    21608: (
        "trial_unverified",
        "A Twilio trial account can only text numbers verified in Twilio.",
        True,
    ),
    20003: (
        "auth",
        "Twilio refused the Account SID and auth token. Check them on Settings -> SMS.",
        True,
    ),
    20429: ("rate_limited", "Twilio is busy (too many requests); it will be retried.", False),
}

UNKNOWN_OUTCOME = (
    "Twilio did not answer in time, so this text may or may not have gone out. Check with the "
    "contact before you retry, or they may get it twice."
)

# Delivery failures reported later in status callbacks (§4.2: 30003-30008).
DELIVERY_ERRORS: dict[str, str] = {
    "30003": "The phone is off or unreachable.",
    "30004": "The recipient blocked this number.",
    "30005": "The number does not exist.",
    "30006": "The number is a landline or cannot receive texts.",
    "30007": "The carrier filtered the message as spam.",
    "30008": "The carrier could not deliver it (unknown error).",
}


class SmsError(IntegrationError):
    """A failed Twilio call. `twilio_code` is Twilio's; `code` is ours (see _KNOWN)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "",
        twilio_code: int | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, status=status, code=code)
        self.twilio_code = twilio_code

    @property
    def opted_out(self) -> bool:
        return self.twilio_code == 21610

    @property
    def blocks_account(self) -> bool:
        """Twilio refuses the account itself (its credentials, or a number it does not own), not
        this one recipient: nothing will go out until someone fixes Settings -> SMS."""
        return self.code in ("auth", "sender_not_owned")


def sms_error_from(exc: TwilioException) -> SmsError:
    """One Twilio exception as SmsError: 4xx with a known code permanent, 429 and 5xx transient."""
    if not isinstance(exc, TwilioRestException):
        return SmsError(f"Could not reach Twilio: {exc}", permanent=False, code="transient")
    code = int(exc.code) if exc.code else None
    if code in _KNOWN:
        ours, words, permanent = _KNOWN[code]
        return SmsError(words, permanent=permanent, status=exc.status, code=ours, twilio_code=code)
    if exc.status == 429 or exc.status >= 500:
        return SmsError(
            "Twilio is not answering right now; it will be retried.",
            permanent=False,
            status=exc.status,
            code="transient",
            twilio_code=code,
        )
    return SmsError(
        f"Twilio refused the message (error {code}).",
        permanent=True,
        status=exc.status,
        code="rejected",
        twilio_code=code,
    )


def twilio_client(account_sid: str, auth_token: str) -> Client:
    """The official client for one workspace's account, at settings.TWILIO_API_URL, with a
    timeout (a Twilio that hangs is a transient failure, not a stuck worker)."""
    client = Client(
        account_sid,
        auth_token,
        http_client=TwilioHttpClient(timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.TWILIO_API_URL
    return client


@dataclass(frozen=True)
class SentSms:
    sid: str
    status: str
    num_segments: int
    date_created: datetime | None


def message_create(
    *,
    account_sid: str,
    auth_token: str,
    to: str,
    body: str,
    from_number: str = "",
    messaging_service_sid: str = "",
    status_callback: str = "",
    media_url: list[str] | None = None,
) -> SentSms:
    """POST Messages.json (§4.1). External call. Raises SmsError (see sms_error_from); a read
    timeout (sent, no answer) is a permanent "unknown_outcome": never retried automatically."""
    kwargs: dict[str, object] = {"to": to, "body": body}
    if messaging_service_sid:
        kwargs["messaging_service_sid"] = messaging_service_sid
    else:
        kwargs["from_"] = from_number
    if status_callback:
        kwargs["status_callback"] = status_callback
    if media_url:
        kwargs["media_url"] = media_url
    try:
        message = twilio_client(account_sid, auth_token).messages.create(**kwargs)
    except TwilioException as exc:
        raise sms_error_from(exc) from exc
    except requests.exceptions.ReadTimeout as exc:
        # The request reached Twilio, which did not answer in time: it may have created the
        # message. Messages have no idempotency key, so trying again could text twice; the
        # person decides, told plainly (permanent: never retried by a task).
        raise SmsError(UNKNOWN_OUTCOME, permanent=True, code="unknown_outcome") from exc
    except OSError as exc:  # connection refused, timeouts under requests' exceptions
        raise SmsError(f"Could not reach Twilio: {exc}", permanent=False, code="transient") from exc
    return SentSms(
        sid=str(message.sid),
        status=str(message.status),
        num_segments=int(message.num_segments or 0),
        date_created=message.date_created,
    )


def signature_valid(*, auth_token: str, url: str, params: object, signature: str) -> bool:
    """True when `signature` (X-Twilio-Signature) is Twilio's HMAC-SHA1 of `url` plus the sorted
    form parameters under `auth_token`: the SDK's RequestValidator (§4.5), which also accepts
    the URL with the scheme's default port. `params` is the form as Django parsed it (a QueryDict:
    blank values and repeated keys kept). Only the auth-token signature is accepted: a delivery
    claiming a SharedKey algorithm (X-Twilio-Webhooks-Signature-Settings) has no key here and
    fails. No I/O."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))
