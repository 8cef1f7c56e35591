"""Settings -> SMS: the workspace's Twilio account (save, test message, remove, the sandbox
account) and the SMS send helpers other pages use (click-to-text's thread)."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from contacts.inbox.sending import message_send
from contacts.inbox.services import conversation_get_or_create, conversation_link_contact
from contacts.models import Contact, Conversation, Message
from integrations.twilio_sms import banner, client
from integrations.twilio_sms.models import TwilioAccount

TEST_MESSAGE = "This is a test message from ALT: texting from this number works."


def may_manage(membership: Membership | None) -> bool:
    """Connecting, testing and removing the workspace's Twilio account is the owner's call."""
    return membership is not None and membership.is_owner


def live_account(workspace: Workspace) -> TwilioAccount | None:
    """The workspace's Twilio account (at most one is live), or None."""
    return (
        TwilioAccount.objects.for_workspace(workspace)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .first()
    )


def sandbox_available() -> bool:
    """`make run` sandbox mode: the emulator's account can be used in one click."""
    return bool(settings.TWILIO_SANDBOX_ACCOUNT_SID and settings.TWILIO_SANDBOX_NUMBER)


def twilio_account_save(
    *,
    workspace: Workspace,
    user: User,
    account_sid: str,
    auth_token: str,
    from_number: str,
    messaging_service_sid: str,
) -> TwilioAccount:
    """Create or update the workspace's live account. A blank `auth_token` keeps the stored one.
    Changed credentials or number put the state back to "Not tested yet". No external call.
    Raises ValueError when there is no token at all (a new account needs one) or the number is
    already another workspace's (TwilioAccount's unique number)."""
    with transaction.atomic():
        account = (
            TwilioAccount.objects.for_workspace(workspace)
            .select_for_update()
            .exclude(status=TwilioAccount.Status.REMOVED)
            .first()
        )
        if account is None:
            if not auth_token:
                raise ValueError("auth_token")
            account = TwilioAccount(workspace=workspace)
        changed = (
            account.account_sid != account_sid
            or account.from_number != from_number
            or account.messaging_service_sid != messaging_service_sid
            or bool(auth_token)
        )
        account.account_sid = account_sid
        account.from_number = from_number
        account.messaging_service_sid = messaging_service_sid
        if auth_token:
            account.auth_token = auth_token
        account.connected_by = user
        if changed:
            account.status = TwilioAccount.Status.UNCHECKED
            account.status_detail = ""
            account.checked_at = None
        banner.banner_forget(workspace.id)
        try:
            with transaction.atomic():
                account.save()
        except IntegrityError:  # twilio_account_number_unique: one number, one workspace
            raise ValueError("from_number") from None
    return account


def twilio_test_message_send(*, account: TwilioAccount, to: str) -> TwilioAccount:
    """Text `to` a test message through Twilio from the account's number and record the answer
    plainly: WORKING ("Sending works") or BLOCKED with Twilio's reason in words (wrong
    credentials 20003, a number the account does not own 21606, a country not allowed 21408, ...),
    with checked_at. External call: Messages create (synchronous: the agent is waiting for the
    answer). A transient failure (Twilio down) changes nothing and is reported as such."""
    try:
        client.message_create(
            account_sid=account.account_sid,
            auth_token=account.auth_token,
            to=to,
            body=TEST_MESSAGE,
            from_number=account.from_number,
            messaging_service_sid=account.messaging_service_sid,
        )
    except client.SmsError as exc:
        if not exc.blocks_account:
            # Twilio down, or a refusal of this one recipient (not a valid number, a country
            # not enabled, opted out): says nothing about the account, whose state stays.
            raise
        status, detail = TwilioAccount.Status.BLOCKED, exc.message
    else:
        status, detail = TwilioAccount.Status.WORKING, ""
    now = timezone.now()
    TwilioAccount.objects.for_workspace(account.workspace).filter(id=account.id).exclude(
        status=TwilioAccount.Status.REMOVED
    ).update(status=status, status_detail=detail[:300], checked_at=now)
    banner.banner_forget(account.workspace_id)
    account.status, account.status_detail, account.checked_at = status, detail[:300], now
    return account


def twilio_account_remove(*, workspace: Workspace) -> bool:
    """Stop texting from the workspace's account: status REMOVED and the auth token erased at
    once (the threads stay). Returns False when there was none. No external call."""
    banner.banner_forget(workspace.id)
    return bool(
        TwilioAccount.objects.for_workspace(workspace)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .update(status=TwilioAccount.Status.REMOVED, auth_token="", status_detail="")
    )


def sms_thread_for(
    *, contact: Contact, account: TwilioAccount, phone: str, user: User | None
) -> Conversation:
    """The SMS conversation between our number and `phone` (E.164), opened if new and linked to
    `contact` when it has no contact yet (click-to-text). No external call."""
    conversation = conversation_get_or_create(
        workspace=contact.workspace,
        channel=Conversation.Channel.SMS,
        channel_account=account.from_number,
        party_id=phone,
        party_name=contact.name[:150],
    )
    if conversation.contact_id is None:
        conversation = conversation_link_contact(
            conversation=conversation, contact=contact, by_user=user
        )
    return conversation


def sms_thread_existing(*, account: TwilioAccount, phone: str) -> Conversation | None:
    """The SMS conversation between the account's number and `phone`, if there is one."""
    return (
        Conversation.objects.for_workspace(account.workspace)
        .filter(
            channel=Conversation.Channel.SMS, channel_account=account.from_number, party_id=phone
        )
        .first()
    )


def sms_text_send(
    *, contact: Contact, account: TwilioAccount, phone: str, text: str, user: User
) -> Conversation:
    """A person's text to `phone` of `contact`: the thread opened (and linked) if new, and the
    message stored and queued through the inbox's send path (contacts.inbox.sending.message_send:
    refused before anything is stored when the contact opted out). Raises SendRefused."""
    with transaction.atomic():
        conversation = sms_thread_for(contact=contact, account=account, phone=phone, user=user)
        message_send(
            conversation=conversation, text=text, author=Message.Author.PERSON, sent_by=user
        )
    return conversation
