from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.shortcuts import render_local
from contacts.inbox import sending, threads
from contacts.inbox.forms import LinkContactForm, ReplyForm
from contacts.inbox.services import link_suggestions_for
from contacts.models import Conversation, Message

WATCHED = (Message.Status.PENDING, Message.Status.SENDING)


@require_GET
@workspace_required
def inbox_list(request: WorkspaceRequest) -> HttpResponse:
    contact_id = _id(request.GET.get("contact", ""))
    if contact_id is not None:  # "Send message" on a contact page: their latest thread, if any
        latest = threads.latest_for_contact(request.workspace, contact_id)
        if latest is not None:
            return redirect("inbox:thread", conversation_id=latest.id)
        messages.info(
            request, "No conversation with this contact yet: they appear here once they write."
        )
    channel = request.GET.get("channel", "")
    channel = channel if channel in Conversation.Channel.values else ""
    rows, next_cursor = threads.conversations_page(
        request.workspace, channel=channel, after=request.GET.get("after", "")
    )
    unread = threads.unread_by_channel(request.workspace)
    context = {
        "threads": rows,
        "next_cursor": next_cursor,
        "channel": channel,
        "channels": [("", "All", unread[""])]
        + [(value, label, unread.get(value, 0)) for value, label in Conversation.Channel.choices],
        "is_later_page": bool(request.GET.get("after")),
    }
    template = (
        "inbox/list.html#rows" if request.htmx and request.GET.get("after") else "inbox/list.html"
    )
    return render_local(request, template, context)


@require_GET
@workspace_required
def thread(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = threads.access_conversation(request.workspace, conversation_id)
    query = request.GET.get("contact_q", "")[:100]
    if request.htmx and "contact_q" in request.GET:
        form = LinkContactForm(workspace=request.workspace, contact_query=query)
        return render_local(request, "inbox/thread.html#contact_select", {"link_form": form})
    timeline = threads.timeline_of(conversation)
    threads.conversation_mark_read(conversation=conversation, timeline=timeline)
    reply_form = _reply_form(conversation, timeline)
    if request.GET.get("compose") == "1":  # click-to-text: the agent came here to write
        reply_form.fields["text"].widget.attrs["autofocus"] = True
    context = _thread_context(request, conversation, reply_form, query, timeline)
    return render_local(request, "inbox/thread.html", context)


@require_GET
@workspace_required
def thread_poll(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = threads.access_conversation(request.workspace, conversation_id)
    after = _id(request.GET.get("after", "")) or 0
    watching = [i for raw in request.GET.get("watch", "").split(",") if (i := _id(raw))]
    timeline = threads.timeline_of(conversation)
    new, changed = threads.messages_since(
        conversation, after_id=after, watching=watching, timeline=timeline
    )
    if any(m.direction == Message.Direction.INBOUND for m in new):
        threads.conversation_mark_read(conversation=conversation, timeline=timeline)
    last_id = max([m.id for m in new], default=after)
    still = [i for i in watching if i not in {m.id for m in changed}]
    context = {
        "conversation": conversation,
        "new_messages": new,
        "changed_messages": changed,
        **_poll_state(last_id, still + [m.id for m in new if m.status in WATCHED]),
        "window": threads.reply_window(conversation),
    }
    return render_local(request, "inbox/thread.html#poll", context)


@require_POST
@workspace_required
def reply(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = threads.access_conversation(request.workspace, conversation_id)
    timeline = threads.timeline_of(conversation)
    form = _reply_form(conversation, timeline, request.POST)
    if form.is_valid():
        option = form.cleaned_data["option"]
        target = conversation if option is None else threads.reply_conversation(option=option)
        try:
            sending.message_send(
                conversation=target,
                text=form.cleaned_data["text"],
                author=Message.Author.PERSON,
                sent_by=request.user,
            )
        except sending.SendRefused as refused:  # the window closed between the checks
            form.add_error("text", refused.reason)
    if request.htmx:
        if form.is_valid():
            timeline = threads.timeline_of(conversation)
            form = _reply_form(conversation, timeline)
        context = {"conversation": conversation, **_reply_context(conversation, form, timeline)}
        response = render_local(request, "inbox/thread.html#reply_form", context)
        return trigger_client_event(response, "inbox-poll") if not form.errors else response
    if form.errors:
        context = _thread_context(request, conversation, form, "", timeline)
        return render_local(request, "inbox/thread.html", context, status=400)
    return redirect(reverse("inbox:thread", args=[conversation.id]) + "#reply")


@require_POST
@workspace_required
def message_retry(request: WorkspaceRequest, conversation_id: int, message_id: int) -> HttpResponse:
    conversation = threads.access_conversation(request.workspace, conversation_id)
    message = threads.access_message(conversation, message_id)
    message.conversation = conversation
    try:
        if sending.message_retry(message=message):
            messages.success(request, "Sending it again.")
    except sending.SendRefused as refused:
        messages.error(request, refused.reason)
    return redirect(reverse("inbox:thread", args=[conversation.id]) + f"#message-{message.id}")


@require_POST
@workspace_required
def link_contact(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = threads.access_conversation(request.workspace, conversation_id)
    form = LinkContactForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        if form.has_error("contact", "invalid_choice"):
            raise Http404("No such contact")
        timeline = threads.timeline_of(conversation)
        reply_form = _reply_form(conversation, timeline)
        context = _thread_context(request, conversation, reply_form, "", timeline)
        context["link_form"] = form
        return render_local(request, "inbox/thread.html", context, status=400)
    contact = form.cleaned_data["contact"]
    threads.conversation_link_contact(conversation=conversation, contact=contact)
    messages.success(request, f"Linked to {contact.name}.")
    return redirect("inbox:thread", conversation_id=conversation.id)


@require_POST
@workspace_required
def create_lead(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = threads.access_conversation(request.workspace, conversation_id)
    if conversation.contact_id is not None:
        messages.info(request, "This conversation is already linked to a contact.")
        return redirect("inbox:thread", conversation_id=conversation.id)
    contact = threads.conversation_create_lead(conversation=conversation, actor=request.user)
    messages.success(request, f"Added {contact.name} as a lead.")
    return redirect("inbox:thread", conversation_id=conversation.id)


def _id(raw: str) -> int | None:
    # An id from a URL the browser built; anything else (or past a bigint) is no id at all.
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def _poll_state(last_id: int, watching: list[int]) -> dict[str, Any]:
    return {"last_id": last_id, "watch": ",".join(str(i) for i in sorted(set(watching)))}


def _reply_form(
    conversation: Conversation, timeline: list[Conversation], data: Any = None
) -> ReplyForm:
    options, last_used = threads.reply_options(conversation, timeline)
    return ReplyForm(data, conversation=conversation, options=options, default_channel=last_used)


def _reply_context(
    conversation: Conversation, reply_form: ReplyForm, timeline: list[Conversation]
) -> dict[str, Any]:
    """What the reply form's partial needs, on the page and after an htmx send."""
    return {
        "timeline_channels": sorted({t.get_channel_display() for t in timeline}),
        "reply_form": reply_form,
        # The channel's own refusal (SMS: opted out) replaces the send button when there is no
        # other channel to switch to; the length hint is the no-JS segment count of the text
        # just submitted.
        "refusal": sending.channel_refusal(conversation),
        "length_hint": sending.length_hint(conversation, reply_form.data.get("text", "")),
    }


def _thread_context(
    request: WorkspaceRequest,
    conversation: Conversation,
    reply_form: ReplyForm,
    query: str,
    timeline: list[Conversation],
) -> dict[str, Any]:
    rows, older = threads.messages_page(
        conversation, before=request.GET.get("before", ""), timeline=timeline
    )
    last_id = max((m.id for m in rows), default=0)
    context: dict[str, Any] = {
        "conversation": conversation,
        "messages_shown": rows,
        "older_cursor": older,
        "is_older_page": bool(request.GET.get("before")),
        "window": threads.reply_window(conversation),
        **_reply_context(conversation, reply_form, timeline),
        "contact_q": query,
        **_poll_state(last_id, [m.id for m in rows if m.status in WATCHED]),
    }
    if conversation.contact is None or conversation.contact.deleted_at is not None:
        context["link_form"] = LinkContactForm(workspace=request.workspace, contact_query=query)
        context["suggestions"] = link_suggestions_for(conversation)
    return context
