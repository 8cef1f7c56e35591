"""Settings -> SMS, and click-to-text from a contact's phone."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.shortcuts import render_local
from contacts.bulk.services import bulk_job_start
from contacts.consent import sms_refusal
from contacts.inbox.sending import SendRefused
from contacts.listing.services import list_choices
from contacts.models import BulkJob, ContactPhone
from contacts.services import access_contact
from integrations.twilio_sms import bulk as bulk_sms
from integrations.twilio_sms import services
from integrations.twilio_sms.channel import STATUS_CALLBACK_PATH
from integrations.twilio_sms.client import SmsError
from integrations.twilio_sms.forms import BulkSmsForm, TestMessageForm, TextForm, TwilioAccountForm
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.segments import segment_count

OWNER_ONLY = "Only the workspace owner can set up texting."


def _context(request: WorkspaceRequest, **forms: object) -> dict[str, object]:
    account = services.live_account(request.workspace)
    base = settings.TWILIO_PUBLIC_BASE_URL
    return {
        "account": account,
        "may_manage": services.may_manage(request.membership),
        "inbound_url": base + "/webhooks/twilio/sms/",
        "status_url": base + STATUS_CALLBACK_PATH,
        "sandbox": services.sandbox_available(),
        "sandbox_console": settings.TWILIO_API_URL + "/console",
        "form": forms.get("form") or _account_form(account),
        "test_form": forms.get("test_form") or TestMessageForm(),
    }


def _account_form(account: TwilioAccount | None, data: object = None) -> TwilioAccountForm:
    initial = {}
    if account is not None:
        initial = {
            "account_sid": account.account_sid,
            "from_number": account.from_number,
            "messaging_service_sid": account.messaging_service_sid,
        }
    return TwilioAccountForm(data, initial=initial, has_token=bool(account and account.auth_token))


@require_http_methods(["GET", "POST"])
@workspace_required
def sms_settings(request: WorkspaceRequest) -> HttpResponse:
    if request.method == "GET":
        return render_local(request, "twilio_sms/settings.html", _context(request))
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    form = _account_form(services.live_account(request.workspace), request.POST)
    if form.is_valid():
        try:
            services.twilio_account_save(
                workspace=request.workspace, user=request.user, **form.cleaned_data
            )
        except ValueError as exc:
            field = str(exc)
            form.add_error(
                field if field in form.fields else None,
                "This number already texts for another ALT workspace."
                if field == "from_number"
                else "Paste the auth token from your Twilio console.",
            )
        else:
            messages.success(request, "Saved. Send a test message to check that texting works.")
            return redirect("twilio_sms:settings")
    return render_local(request, "twilio_sms/settings.html", _context(request, form=form), 400)


@require_POST
@workspace_required
def test_message(request: WorkspaceRequest) -> HttpResponse:
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    account = services.live_account(request.workspace)
    if account is None:
        messages.error(request, "Save your Twilio account first.")
        return redirect("twilio_sms:settings")
    form = TestMessageForm(request.POST)
    if not form.is_valid():
        context = _context(request, test_form=form)
        return render_local(request, "twilio_sms/settings.html", context, 400)
    try:
        account = services.twilio_test_message_send(account=account, to=form.cleaned_data["to"])
    except SmsError as exc:
        if exc.permanent:  # this recipient, not the account: fix the number and try again
            messages.error(request, f"Twilio refused the test text: {exc.message}")
        else:
            messages.error(request, f"{exc.message} Nothing changed; try again in a minute.")
        return redirect("twilio_sms:settings")
    if account.status == TwilioAccount.Status.WORKING:
        messages.success(request, "Sending works: the test message is on its way.")
    else:
        messages.error(request, f"Blocked: {account.status_detail}")
    return redirect("twilio_sms:settings")


@require_POST
@workspace_required
def use_sandbox(request: WorkspaceRequest) -> HttpResponse:
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    if not services.sandbox_available():
        raise PermissionDenied("There is no sandbox Twilio account on this server.")
    try:
        services.twilio_account_save(
            workspace=request.workspace,
            user=request.user,
            account_sid=settings.TWILIO_SANDBOX_ACCOUNT_SID,
            auth_token=settings.TWILIO_SANDBOX_AUTH_TOKEN,
            from_number=settings.TWILIO_SANDBOX_NUMBER,
            messaging_service_sid="",
        )
    except ValueError:
        messages.error(request, "The sandbox number already texts for another workspace.")
    else:
        messages.success(request, "Using the sandbox Twilio account.")
    return redirect("twilio_sms:settings")


@require_POST
@workspace_required
def remove(request: WorkspaceRequest) -> HttpResponse:
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    if services.twilio_account_remove(workspace=request.workspace):
        messages.success(request, "Texting removed: the auth token is erased. Threads stay.")
    return redirect("twilio_sms:settings")


@require_http_methods(["GET", "POST"])
@workspace_required
def text_phone(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = access_contact(request.workspace, contact_id)
    raw = (request.POST if request.method == "POST" else request.GET).get("phone", "")
    phone = (
        ContactPhone.objects.for_workspace(request.workspace)
        .filter(contact_id=contact.id, e164=raw[:20])
        .first()
    )
    if phone is None:
        raise Http404("No such phone")
    account = services.live_account(request.workspace)
    if account is None:
        messages.info(request, "Set up texting first: add your Twilio number here.")
        return redirect("twilio_sms:settings")
    existing = services.sms_thread_existing(account=account, phone=phone.e164)
    if request.method == "GET" and existing is not None:
        return redirect(reverse("inbox:thread", args=[existing.id]) + "?compose=1#reply")
    form = TextForm(request.POST or None, contact=contact)
    if form.is_valid():
        try:
            conversation = services.sms_text_send(
                contact=contact,
                account=account,
                phone=phone.e164,
                text=form.cleaned_data["text"],
                user=request.user,
            )
        except SendRefused as refused:
            form.add_error("text", refused.reason)
        else:
            return redirect(reverse("inbox:thread", args=[conversation.id]) + "#reply")
    context = {
        "contact": contact,
        "phone": phone,
        "form": form,
        "refusal": sms_refusal(contact),
        "length_hint": segment_count(form.data.get("text", "")).words if form.is_bound else "",
    }
    return render_local(request, "twilio_sms/text.html", context, 400 if form.errors else 200)


@require_POST
@workspace_required
def bulk_text(request: WorkspaceRequest) -> HttpResponse:
    choices = list_choices(request.workspace)
    form = BulkSmsForm(request.POST, choices=choices)
    back = _back_to_list(request.POST.get("next", ""))
    if not form.is_valid() and not form.has_error("text"):
        messages.error(request, str(next(iter(form.errors.values()))[0]))
        return redirect(back)
    data = form.cleaned_data
    account = services.live_account(request.workspace)
    if account is not None and data.get("confirmed") and form.is_valid():
        job = bulk_job_start(
            workspace=request.workspace,
            actor=request.user,
            action=BulkJob.Action.SMS,
            params={"text": data["text"]},
            query=data["query"],
            ids=data.get("ids") or [],
        )
        return redirect("contacts:bulk_job", bulk_job_id=job.id)
    preview = bulk_sms.bulk_sms_preview(
        workspace=request.workspace,
        user=request.user,
        query=data.get("query"),
        ids=data.get("ids") or [],
    )
    context = {
        "form": form,
        "preview": preview,
        "account": account,
        "back": back,
        "length_hint": segment_count(data.get("text") or "").words,
    }
    return render_local(request, "twilio_sms/bulk.html", context, 400 if form.errors else 200)


def _back_to_list(raw: str) -> str:
    """The list as the agent left it (the `next` the form carried), never another site."""
    list_url = reverse("contacts:list")
    back = urlsplit(raw)
    if back.scheme or back.netloc or back.path != list_url:
        return list_url
    return f"{list_url}?{back.query}" if back.query else list_url
