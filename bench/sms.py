"""SMS and the unified inbox under load (issue 11), written to var/bench/sms.json.

1. The inbox at THREADS threads and MESSAGES messages, SMS and Instagram mixed (some contacts on
   both), as paired ratios to the bare view (bench/pages.py): the thread list, the list filtered
   to SMS, and one contact's unified timeline (an Instagram and an SMS thread holding
   TIMELINE_MESSAGES between them). Goal: each ≤ 3x the bare view, a fixed query count.
2. The Twilio inbound webhook (/webhooks/twilio/sms/) under gunicorn beside a bare Django view on
   the same server, rounds alternating (bench/webhooks.py throughput_rows): throughput ≥ 70 % of
   bare, p99 ≤ 50 ms, for form-encoded §4.3 deliveries signed with X-Twilio-Signature over
   TWILIO_PUBLIC_BASE_URL + the path (verify, store, enqueue).
3. DELIVERIES inbound texts, 20 % of them Twilio's retries (the same bytes again, in shuffled
   order), processed by a real Celery worker: exactly the unique ones stored, as events and as
   messages.

Parts 2 and 3 are skipped, with a line saying so, only when the endpoint does not resolve.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from typing import Any

from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.urls import Resolver404, resolve

from bench.common import Row, report

THREADS = int(os.environ.get("BENCH_SMS_THREADS", 5_000))
MESSAGES = int(os.environ.get("BENCH_SMS_MESSAGES", 200_000))
TIMELINE_MESSAGES = int(os.environ.get("BENCH_SMS_TIMELINE_MESSAGES", 20_000))
PAGE_RUNS = int(os.environ.get("BENCH_RUNS", 60))
ROUNDS = int(os.environ.get("BENCH_SMS_ROUNDS", 6))
PER_ROUND = int(os.environ.get("BENCH_SMS_PER_ROUND", 300))
DELIVERIES = int(os.environ.get("BENCH_SMS_DELIVERIES", 5_000))
SENDERS = int(os.environ.get("BENCH_SMS_SENDERS", 500))
# "webhooks" or "inbox" runs only that part (both when empty).
ONLY = os.environ.get("BENCH_SMS_ONLY", "")

EMAIL = "bench.sms@example.com"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-sms-auth-token-0123456789ab"  # noqa: S105 (the bench signs its own deliveries)
OUR_NUMBER = "+15005550006"
IG_USER_ID = "17841400000000002"
PUBLIC_BASE_URL = "https://alt.bench.example"  # what Twilio would call: signed over, never dialled
PATH = "/webhooks/twilio/sms/"


def _setup() -> tuple[Any, Any]:
    """The bench's agent and workspace with a working Twilio number (created once)."""
    from alt.accounts.models import User
    from alt.accounts.services import workspace_create_for_user
    from integrations.twilio_sms.models import TwilioAccount

    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        user = User.objects.create_user(EMAIL, "bench-password-2026", full_name="Bench SMS")
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
        workspace_create_for_user(user=user, name="Bench SMS")
    workspace = user.memberships.get().workspace
    TwilioAccount.objects.for_workspace(workspace).update_or_create(
        workspace=workspace,
        defaults={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": OUR_NUMBER,
            "status": TwilioAccount.Status.WORKING,
            "connected_by": user,
        },
    )
    return user, workspace


# --- 1. the inbox ------------------------------------------------------------------------------
def _dataset(workspace: Any) -> Any:
    """THREADS threads (3/5 Instagram, 2/5 SMS; the first fifth of the contacts on both) and
    MESSAGES messages, TIMELINE_MESSAGES of them in contact 0's two threads. Built once, in SQL.
    Returns contact 0's Instagram thread."""
    from django.utils import timezone

    from contacts.models import Contact, Conversation, Message, PipelineStage

    ours = Conversation.objects.for_workspace(workspace).filter(
        Q(party_id__startswith="9") | Q(party_id__startswith="+1415")
    )
    timeline = Conversation.objects.for_workspace(workspace).filter(party_id="9" + "0" * 16)
    if ours.count() >= THREADS and timeline.exists():
        return timeline.get()
    ours.delete()
    Contact.objects.for_workspace(workspace).filter(last_name="Smsbench").delete()
    ig_threads, sms_only = THREADS * 3 // 5, THREADS // 5
    both = THREADS - ig_threads - sms_only  # contacts 0..both-1 have an SMS thread too
    stage = PipelineStage.objects.for_workspace(workspace).order_by("position").first()
    Contact.objects.for_workspace(workspace).bulk_create(
        [
            Contact(
                workspace=workspace,
                stage=stage,
                first_name=f"Lead{i}",
                last_name="Smsbench",
                primary_phone=f"+1415{i:07d}",
            )
            for i in range(ig_threads + sms_only)
        ],
        batch_size=1000,
    )
    contact_ids = list(
        Contact.objects.for_workspace(workspace)
        .filter(last_name="Smsbench")
        .order_by("id")
        .values_list("id", flat=True)
    )
    now = timezone.now()

    def thread(i: int, channel: str, contact_id: int) -> Conversation:
        instagram = channel == "instagram"
        at = now - timedelta(minutes=i)
        return Conversation(
            workspace=workspace,
            channel=channel,
            channel_account=IG_USER_ID if instagram else OUR_NUMBER,
            party_id=f"9{i:016d}" if instagram else f"+1415{i:07d}",
            party_handle=f"sms_bench_{i}" if instagram else "",
            contact_id=contact_id,
            last_message_at=at,
            last_inbound_at=at,
            awaiting_reply_since=at if i % 3 == 0 else None,
            unread_count=i % 4,
        )

    rows = [thread(i, "instagram", contact_ids[i]) for i in range(ig_threads)]
    rows += [thread(i, "sms", contact_ids[i]) for i in range(both)]
    rows += [thread(i, "sms", contact_ids[i]) for i in range(ig_threads, ig_threads + sms_only)]
    Conversation.objects.for_workspace(workspace).bulk_create(rows, batch_size=1000)
    per_thread = max(1, (MESSAGES - TIMELINE_MESSAGES) // THREADS)
    per_timeline_thread = TIMELINE_MESSAGES // 2
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Message._meta.db_table} (workspace_id, conversation_id, channel, direction,
                author, external_id, text, attachments, meta, status, error, sent_at, created_at)
            SELECT c.workspace_id, c.id, c.channel,
                   CASE WHEN n %% 2 = 0 THEN 'in' ELSE 'out' END,
                   CASE WHEN n %% 2 = 0 THEN 'party' ELSE 'person' END,
                   'smsbench-' || c.id || '-' || n,
                   'Message ' || n || ': can we see the house on Elm Street on Saturday?',
                   '[]'::jsonb, '{{}}'::jsonb,
                   CASE WHEN n %% 2 = 0 THEN 'received' ELSE 'delivered' END, '',
                   c.last_message_at - make_interval(secs => k.total - n),
                   c.last_message_at - make_interval(secs => k.total - n)
            FROM {Conversation._meta.db_table} c
            CROSS JOIN LATERAL (SELECT CASE WHEN c.party_id IN (%s, %s) THEN %s ELSE %s END
                                AS total) k
            CROSS JOIN LATERAL generate_series(1, k.total) AS n
            WHERE c.workspace_id = %s
              AND (c.party_id LIKE '9%%' OR c.party_id LIKE '+1415%%')
            """,  # noqa: S608 (table names are ours; values are parameters)
            ["9" + "0" * 16, "+1415" + "0" * 7, per_timeline_thread, per_thread, workspace.id],
        )
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
        cursor.execute(f"ANALYZE {Conversation._meta.db_table}")
    return timeline.get()


def _inbox_rows(user: Any, workspace: Any) -> list[Row]:
    from bench.pages import Page, paired

    thread = _dataset(workspace)
    client = Client()
    client.force_login(user)
    pages = [
        Page(f"inbox, all channels ({THREADS:,} threads)", "/inbox/"),
        Page("inbox, SMS only", "/inbox/?channel=sms"),
        Page(f"one contact's timeline ({TIMELINE_MESSAGES:,} msgs, 2 ch.)", f"/inbox/{thread.id}/"),
    ]
    return paired(client, pages, bare_url=f"/bench/bare/rows/{workspace.id}/", rounds=PAGE_RUNS)


# --- 2 and 3. the inbound webhook ----------------------------------------------------------------
def _delivery(sid: str, sender: str, text: str) -> tuple[str, bytes, dict[str, str]]:
    """One inbound text as Twilio posts it (EXTERNAL_APIS.md §4.3), signed (§4.5)."""
    from integrations.sandbox.webhooks import twilio_form_body, twilio_signer

    body = twilio_form_body(
        {
            "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "", "FromZip": "20001", "SmsSid": sid, "FromState": "DC",
            "SmsStatus": "received", "FromCity": "WASHINGTON", "Body": text,
            "FromCountry": "US", "To": OUR_NUMBER, "ToZip": "", "NumSegments": "1",
            "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": sender,
            "ApiVersion": "2010-04-01",
        }
    )  # fmt: skip
    return PATH, body, twilio_signer(AUTH_TOKEN)(body, PUBLIC_BASE_URL + PATH)


def _sender(i: int) -> str:
    return f"+1202555{i % SENDERS:04d}"


def _clear(workspace: Any) -> None:
    from bench.webhooks import clear_channel

    clear_channel(workspace, provider="twilio_sms", party_prefix="+1202555")


def _duplicates(port: int, workspace: Any) -> Row:
    from bench.webhooks import burst, wait_processed
    from contacts.models import Message
    from integrations.models import InboundEvent

    retried = DELIVERIES // 5
    unique = DELIVERIES - retried
    sids = [f"SM{0xD0000000 + i:032x}" for i in range(unique)]
    firsts = [_delivery(sid, _sender(i), f"Text {i}: is the open house still on?") for i, sid in enumerate(sids)]  # fmt: skip
    retries = firsts[:retried]  # Twilio retrying a delivery: the same bytes, the same signature
    deliveries = firsts + retries
    random.Random(11).shuffle(deliveries)  # noqa: S311 (an order, not a secret): a retry may overtake the first (or run beside it)
    started = time.monotonic()
    _, _, statuses = burst(port, deliveries)
    drained = wait_processed("twilio_sms")
    elapsed = time.monotonic() - started
    events = InboundEvent.objects.filter(provider="twilio_sms", external_id__in=sids).count()
    stored = Message.objects.for_workspace(workspace).filter(external_id__in=sids).count()
    return Row(
        name=f"{DELIVERIES:,} inbound texts, 20 % retried, real worker",
        target=f"events == messages == {unique:,}",
        ok=drained and events == stored == unique and all(s == 200 for s in statuses),
        extra={
            "events": events,
            "messages": stored,
            "retried_deliveries": len(retries),
            "seconds_to_drain": round(elapsed, 1),
            "non_200_answers": sum(1 for s in statuses if s != 200),
        },
    )


def _webhook_rows(workspace: Any) -> list[Row]:
    from bench.webhooks import throughput_rows, webhook_suite

    text = "Hi! Is 12 Oak St still available? ¿Precio? 🏠"
    return webhook_suite(
        throughput=lambda port: throughput_rows(
            port,
            lambda n: [_delivery(f"SM{n:08x}{i:024x}", _sender(i), text) for i in range(PER_ROUND)],
            name="Twilio inbound webhook (verify, store, enqueue)",
            rounds=ROUNDS,
            per_round=PER_ROUND,
        ),
        with_worker=[lambda port: _duplicates(port, workspace)],
        clear=lambda: _clear(workspace),
        server_env={"TWILIO_PUBLIC_BASE_URL": PUBLIC_BASE_URL},
    )


def _endpoint_present() -> bool:
    try:
        resolve(PATH)
    except Resolver404:
        return False
    return True


def run() -> None:
    call_command("migrate", verbosity=0)
    user, workspace = _setup()
    rows: list[Row] = []
    if ONLY != "webhooks":
        rows += _inbox_rows(user, workspace)
    if ONLY != "inbox":
        if _endpoint_present():
            rows += _webhook_rows(workspace)
        else:
            print(f"endpoint not present: {PATH} does not resolve, webhook parts skipped")  # noqa: T201
            rows.append(Row(name=f"Twilio inbound webhook: {PATH} not present", ok=None))
    meta = {
        "threads": THREADS,
        "messages": MESSAGES,
        "timeline_messages": TIMELINE_MESSAGES,
        "deliveries": DELIVERIES,
        "senders": SENDERS,
        "rounds": ROUNDS,
        "per_round": PER_ROUND,
    }
    report("sms", rows, meta)
