"""The comments page and the keyword trigger settings (under /settings/social/)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.lib.errors import IntegrationError
from integrations.instagram.comment_tasks import instagram_comments_refresh
from integrations.instagram.comments import (
    ReplyRefused,
    access_comment,
    comment_private_reply,
    comment_reply_public,
    instagram_account_of,
    recent_posts_with_comments,
)
from integrations.instagram.forms_comments import (
    PrivateReplyForm,
    PublicReplyForm,
    TriggerForm,
    TriggerSwitchForm,
)
from integrations.instagram.models import InstagramAccount, KeywordTrigger
from integrations.instagram.triggers import access_trigger, trigger_save, triggers_switch


def _comments_page(
    request: WorkspaceRequest, *, failed: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    account = instagram_account_of(request.workspace)
    posts = recent_posts_with_comments(account) if account else []
    context = {"account": account, "posts": posts, "failed": failed or {}}
    return render(request, "instagram/comments.html", context, status=status)


@require_GET
@workspace_required
def comments(request: WorkspaceRequest) -> HttpResponse:
    return _comments_page(request)


@require_POST
@workspace_required
def comments_refresh(request: WorkspaceRequest) -> HttpResponse:
    account = instagram_account_of(request.workspace)
    if account is None or not account.is_connected:
        messages.error(request, "Connect Instagram first.")
    else:
        instagram_comments_refresh.delay_on_commit(request.workspace.id, account.id)
        messages.success(request, "Fetching your recent posts and comments. Reload in a moment.")
    return redirect("instagram:comments")


def _reply(request: WorkspaceRequest, ig_comment_id: int, *, private: bool) -> HttpResponse:
    comment = access_comment(request.workspace, ig_comment_id)
    form = (PrivateReplyForm if private else PublicReplyForm)(request.POST)
    kind = "private" if private else "public"
    if not form.is_valid():
        error = "; ".join(str(e) for e in form.errors.get("text", ["Check the reply."]))
        failed = {
            "id": comment.id,
            "kind": kind,
            "text": request.POST.get("text", ""),
            "error": error,
        }
        return _comments_page(request, failed=failed, status=400)
    try:
        if private:
            comment_private_reply(
                comment=comment, text=form.cleaned_data["text"], sent_by=request.user
            )
        else:
            comment_reply_public(
                comment=comment, text=form.cleaned_data["text"], sent_by=request.user
            )
    except (ReplyRefused, IntegrationError) as exc:
        failed = {
            "id": comment.id,
            "kind": kind,
            "text": form.cleaned_data["text"],
            "error": exc.message,
        }
        return _comments_page(request, failed=failed, status=400)
    who = f"@{comment.from_username}" if comment.from_username else "the commenter"
    messages.success(
        request,
        f"Private reply sent to {who}." if private else "Your reply is posted under the comment.",
    )
    return redirect("instagram:comments")


@require_POST
@workspace_required
def comment_reply(request: WorkspaceRequest, ig_comment_id: int) -> HttpResponse:
    return _reply(request, ig_comment_id, private=False)


@require_POST
@workspace_required
def comment_private_reply_send(request: WorkspaceRequest, ig_comment_id: int) -> HttpResponse:
    return _reply(request, ig_comment_id, private=True)


# --- keyword triggers ----------------------------------------------------------------------------
def _account_or_404(request: WorkspaceRequest) -> InstagramAccount:
    account = instagram_account_of(request.workspace)
    if account is None:
        raise Http404("No Instagram account")
    return account


@require_GET
@workspace_required
def triggers(request: WorkspaceRequest) -> HttpResponse:
    account = instagram_account_of(request.workspace)
    rows = (
        KeywordTrigger.objects.for_workspace(request.workspace)
        .filter(account=account)
        .select_related("media")
        .order_by("id")
        if account
        else []
    )
    return render(request, "instagram/triggers.html", {"account": account, "triggers": rows})


@require_POST
@workspace_required
def triggers_switch_view(request: WorkspaceRequest) -> HttpResponse:
    account = _account_or_404(request)
    form = TriggerSwitchForm(request.POST)
    enabled = form.is_valid() and form.cleaned_data["enabled"]
    triggers_switch(account=account, enabled=enabled)
    messages.success(
        request,
        "Keyword triggers are on: the triggers marked on now answer new comments and DMs."
        if enabled
        else "Keyword triggers are off: nothing is sent automatically.",
    )
    return redirect("instagram:triggers")


@require_http_methods(["GET", "POST"])
@workspace_required
def trigger_new(request: WorkspaceRequest) -> HttpResponse:
    account = _account_or_404(request)
    form = TriggerForm(request.POST or None, workspace=request.workspace, account=account)
    if request.method == "POST" and form.is_valid():
        trigger_save(account=account, actor=request.user, data=form.to_input(), trigger=None)
        messages.success(request, "Trigger saved.")
        return redirect("instagram:triggers")
    status = 400 if form.is_bound else 200
    context = {"form": form, "account": account, "trigger": None}
    return render(request, "instagram/trigger_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def trigger_edit(request: WorkspaceRequest, trigger_id: int) -> HttpResponse:
    account = _account_or_404(request)
    trigger = access_trigger(account, trigger_id)
    initial = {
        "name": trigger.name, "kind": trigger.kind, "keywords": trigger.keywords,
        "match_mode": trigger.match_mode, "post": trigger.media, "reply_text": trigger.reply_text,
        "public_reply_text": trigger.public_reply_text, "enabled": trigger.enabled,
    }  # fmt: skip
    form = TriggerForm(
        request.POST or None, initial=initial, workspace=request.workspace, account=account
    )
    if request.method == "POST" and form.is_valid():
        trigger_save(account=account, actor=request.user, data=form.to_input(), trigger=trigger)
        messages.success(request, "Trigger saved.")
        return redirect("instagram:triggers")
    status = 400 if form.is_bound else 200
    context = {"form": form, "account": account, "trigger": trigger}
    return render(request, "instagram/trigger_form.html", context, status=status)


@require_POST
@workspace_required
def trigger_delete(request: WorkspaceRequest, trigger_id: int) -> HttpResponse:
    account = _account_or_404(request)
    trigger = access_trigger(account, trigger_id)
    trigger.delete()
    messages.success(request, "Trigger deleted.")
    return redirect("instagram:triggers")
