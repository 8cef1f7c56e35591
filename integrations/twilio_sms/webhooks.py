"""Twilio calling ALT, on the shared webhook recipe (integrations/webhooks.py).

POST /webhooks/twilio/sms/     an inbound text (EXTERNAL_APIS.md §4.3), answered with empty TwiML:
                               we reply through the API, never in TwiML.
POST /webhooks/twilio/status/  a delivery status of a text we sent (§4.4).

Both are form-encoded and signed with X-Twilio-Signature (§4.5): HMAC-SHA1 under the auth token
of the account Twilio names (AccountSid), over the exact public URL Twilio requested (query string
included) plus the sorted form. The URL is settings.TWILIO_PUBLIC_BASE_URL + the path Django saw:
behind a proxy or a tunnel Django sees another host and scheme, and the setting decides. Every
parameter takes part, blank ones too (`ToCity=`), and none is whitelisted (§4.3: Twilio adds
parameters without notice).

- The token is that of the live TwilioAccount with the AccountSid and our number (To of an inbound
  text, From of a status; or the account's Messaging Service). A delivery for an account or number
  no workspace serves cannot be verified, so it is refused like a forgery: 403, nothing stored,
  counted as a signature failure. (Answering 200 would tell a prober which numbers we serve, and
  Twilio stops retrying a 403 just as it does a 200.)
- Forged or unsigned: 403, nothing stored, nothing processed.
- No MessageSid (or, for a status, no MessageStatus): 400, nothing stored.
- The external id makes Twilio's retries no-ops: the MessageSid of an inbound text; for a status,
  MessageSid:MessageStatus[:ErrorCode], so each distinct report is stored once.

The token: each web process keeps the tokens it has read, with the ciphertext they were stored
as (a new one on every write of the token: a random nonce per encryption). A delivery verified
with a kept token is stored only if the account still holds that ciphertext, checked by the
recipe's INSERT itself (`store_if`): so the delivery costs one statement, and a changed token, a
removed or renumbered account takes effect on the very next delivery: the INSERT refuses it, the
kept token is forgotten (`recheck`), and the delivery is verified again against a fresh read.
A delivery whose signature the kept token refuses is also checked against a fresh read (the token
may have just changed) before it is refused. Processing runs in the worker:
integrations/twilio_sms/ingest.py.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt

from alt.lib.errors import IntegrationError
from alt.lib.middleware import machine_endpoint
from integrations.models import InboundEvent
from integrations.twilio_sms import client, ingest
from integrations.twilio_sms.models import TwilioAccount
from integrations.webhooks import MalformedWebhook, StoreCondition, WebhookReceiver, webhook_view

PROVIDER_INBOUND = "twilio_sms"
PROVIDER_STATUS = "twilio_status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _form(request: HttpRequest) -> QueryDict:
    request.body  # noqa: B018 (read first: the raw bytes stay available to the recipe after POST)
    return request.POST


# (AccountSid, our number, MessagingServiceSid) -> (auth token, its stored ciphertext), per
# process. Bounded: cleared when full (a web process serves a handful of accounts).
_tokens: dict[tuple[str, str, str], tuple[str, str]] = {}
_TOKENS_MAX = 1000
# On the request: the kept token's key and ciphertext when verify used one, else None.
_KEPT = "_twilio_kept_token"
_FRESH = "_twilio_token_fresh"


def _verify(request: HttpRequest, number_field: str) -> bool:
    setattr(request, _KEPT, None)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    form = _form(request)
    key = (
        form.get("AccountSid", ""),
        form.get(number_field, ""),
        form.get("MessagingServiceSid", ""),
    )
    url = settings.TWILIO_PUBLIC_BASE_URL + request.get_full_path()
    kept = None if getattr(request, _FRESH, False) else _tokens.get(key)
    if kept is not None:
        auth_token, stored = kept
        if client.signature_valid(auth_token=auth_token, url=url, params=form, signature=signature):
            setattr(request, _KEPT, (key, stored))
            return True
        # Refused by the kept token: the token may have just changed; ask the database.
    auth_token, stored = TwilioAccount.objects.inbound_credentials(*key)
    if not auth_token:
        _tokens.pop(key, None)
        return False
    if len(_tokens) >= _TOKENS_MAX:
        _tokens.clear()
    _tokens[key] = (auth_token, stored)
    return client.signature_valid(auth_token=auth_token, url=url, params=form, signature=signature)


def store_if(request: HttpRequest) -> StoreCondition | None:
    """When verify used a kept token: store only if the account still holds it (see above)."""
    kept = getattr(request, _KEPT, None)
    if kept is None:
        return None  # verified against a read made just now, as before the cache
    (account_sid, number, service_sid), stored = kept
    sql, params = TwilioAccount.objects.inbound_token_sql(account_sid, number, service_sid, stored)
    return StoreCondition(sql, params)


def recheck(request: HttpRequest) -> bool:
    """The INSERT refused a delivery verified with a kept token (it changed, or the account is
    gone): forget the token, and have the delivery verified again from the database."""
    kept = getattr(request, _KEPT, None)
    if kept is None:
        return False
    _tokens.pop(kept[0], None)
    setattr(request, _FRESH, True)
    return True


def verify_inbound(request: HttpRequest) -> bool:
    """True when the inbound text is signed by the account that owns the number it was sent To."""
    return _verify(request, "To")


def verify_status(request: HttpRequest) -> bool:
    """True when the status is signed by the account that owns the number we sent From."""
    return _verify(request, "From")


def _message_sid(form: QueryDict) -> str:
    sid = form.get("MessageSid", "").strip()
    if not sid or len(sid) > 64:
        raise MalformedWebhook("no MessageSid")
    return sid


def external_id_inbound(request: HttpRequest) -> str:
    """The MessageSid. Raises MalformedWebhook without one."""
    return _message_sid(_form(request))


def external_id_status(request: HttpRequest) -> str:
    """MessageSid:MessageStatus[:ErrorCode]: each distinct report once. Raises MalformedWebhook."""
    form = _form(request)
    sid = _message_sid(form)
    status = form.get("MessageStatus", "").strip()[:20]
    if not status:
        raise MalformedWebhook("no MessageStatus")
    code = form.get("ErrorCode", "").strip()[:10]
    return f"{sid}:{status}:{code}" if code else f"{sid}:{status}"


def _processed(work: Callable[[], None]) -> None:
    try:
        work()
    except OperationalError as exc:  # a deadlock or a lost connection: retried
        raise IntegrationError(f"database busy: {exc}"[:200], permanent=False) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrationError(f"unreadable delivery: {exc}"[:200], permanent=True) from exc


def process_inbound(event: InboundEvent) -> None:
    """Store the text in the inbox (ingest.inbound_process)."""
    _processed(lambda: ingest.inbound_process(bytes(event.body)))


def process_status(event: InboundEvent) -> None:
    """Move our message's status forward (ingest.status_process)."""
    _processed(lambda: ingest.status_process(bytes(event.body)))


inbound_receiver = WebhookReceiver(
    provider=PROVIDER_INBOUND,
    verify=verify_inbound,
    external_id=external_id_inbound,
    process=process_inbound,
    store_if=store_if,
    recheck=recheck,
)
status_receiver = WebhookReceiver(
    provider=PROVIDER_STATUS,
    verify=verify_status,
    external_id=external_id_status,
    process=process_status,
    store_if=store_if,
    recheck=recheck,
)
_inbound = webhook_view(inbound_receiver)
_status = webhook_view(status_receiver)


@machine_endpoint  # Twilio's calls, not a person's: no session, user or CSRF token
@csrf_exempt  # Twilio's POSTs are authenticated by their signature (webhook_view checks it)
def inbound(request: HttpRequest) -> HttpResponse:
    response = _inbound(request)
    if response.status_code != 200:
        return response
    # §4.3: TwiML, here empty ("do not reply"): ALT answers through the API, after processing.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@machine_endpoint  # as above
@csrf_exempt
def status(request: HttpRequest) -> HttpResponse:
    return _status(request)
