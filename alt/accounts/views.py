from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from alt.accounts.decorators import WorkspaceRequest, owner_required, workspace_required
from alt.accounts.forms import InviteForm, MemberRemoveForm, ProfileForm, WorkspaceForm
from alt.accounts.middleware import PENDING_INVITE_KEY, SESSION_KEY
from alt.accounts.models import Invite, Membership, WorkspaceAuditEvent
from alt.accounts.services import (
    InviteError,
    MembershipError,
    access_invite,
    access_membership,
    invite_accept,
    invite_create,
    invite_from_token,
    invite_revoke,
    membership_remove,
    workspace_create_for_user,
)
from alt.accounts.settings_cards import settings_cards


@workspace_required
def settings_index(request: WorkspaceRequest) -> HttpResponse:
    return render(request, "accounts/settings.html", {"cards": settings_cards(request)})


@workspace_required
def account(request: WorkspaceRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:account")
    return render(request, "accounts/account.html", {"form": form})


@workspace_required
def workspace(request: WorkspaceRequest) -> HttpResponse:
    ws = request.workspace
    is_owner = request.membership.is_owner
    form = WorkspaceForm(request.POST or None, instance=ws)
    if request.method == "POST":
        if not is_owner:
            messages.error(request, "Only the workspace owner can rename it.")
            return redirect("accounts:workspace")
        if form.is_valid():
            form.save()
            messages.success(request, "Workspace renamed.")
            return redirect("accounts:workspace")
    context = {
        "form": form,
        "invite_form": InviteForm(workspace=ws),
        "members": ws.memberships.select_related("user").order_by("created_at"),
        "invites": Invite.objects.filter(workspace=ws).pending().order_by("-created_at"),
        "is_owner": is_owner,
        "my_memberships": Membership.objects.filter(user=request.user).select_related("workspace"),
        "audit_events": WorkspaceAuditEvent.objects.filter(workspace=ws)
        .select_related("actor", "target")
        .order_by("-at")[:10],
    }
    return render(request, "accounts/workspace.html", context)


@require_POST
@owner_required
def invite_new(request: WorkspaceRequest) -> HttpResponse:
    ws = request.workspace
    form = InviteForm(request.POST, workspace=ws, sender=request.user)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, str(error[0]))
        return redirect("accounts:workspace")
    invite_create(
        workspace=ws,
        invited_by=request.user,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
    )
    messages.success(request, f"Invite sent to {form.cleaned_data['email']}.")
    return redirect("accounts:workspace")


@require_POST
@owner_required
def invite_revoke_view(request: WorkspaceRequest, invite_id: int) -> HttpResponse:
    invite = access_invite(workspace=request.workspace, invite_id=invite_id)
    invite_revoke(invite=invite)
    messages.success(request, f"The invite to {invite.email} no longer works.")
    return redirect("accounts:workspace")


@owner_required
def member_remove(request: WorkspaceRequest, membership_id: int) -> HttpResponse:
    # Another workspace's member is a 404 before any password prompt.
    leaving = access_membership(workspace=request.workspace, membership_id=membership_id)
    return _member_remove_confirmed(request, leaving)


@reauthentication_required(allow_get=True)
def _member_remove_confirmed(request: WorkspaceRequest, leaving: Membership) -> HttpResponse:
    form = MemberRemoveForm(
        request.POST or None,
        workspace=request.workspace,
        leaving=leaving,
        initial={"reassign_to": request.user.id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership_remove(
                workspace=request.workspace,
                membership_id=leaving.id,
                actor=request.user,
                reassign_to=form.cleaned_data["reassign_to"],
            )
        except MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{leaving.user.email} was removed and has been emailed.")
        return redirect("accounts:workspace")
    return render(request, "accounts/member_remove.html", {"form": form, "leaving": leaving})


@require_POST
@login_required
def workspace_switch(request: WorkspaceRequest) -> HttpResponse:
    workspace_id = request.POST.get("workspace_id", "")
    membership = Membership.objects.filter(
        user=request.user, workspace_id=workspace_id if workspace_id.isdigit() else 0
    ).first()
    if membership is None:
        raise Http404("No such workspace")
    request.session[SESSION_KEY] = membership.workspace_id
    messages.success(request, f"Switched to {membership.workspace.name}.")
    return redirect("dashboard")


@login_required
def workspace_new(request: WorkspaceRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ws = workspace_create_for_user(user=request.user, name=form.cleaned_data["name"])
        request.session[SESSION_KEY] = ws.id
        return redirect("dashboard")
    return render(request, "accounts/workspace_new.html", {"form": form})


def invite_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invite = invite_from_token(token)
    except InviteError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    if not request.user.is_authenticated:
        # Signing up or in from here joins this workspace (AccountAdapter), with no own one.
        request.session[PENDING_INVITE_KEY] = invite.token_hash
        return render(request, "accounts/invite_accept.html", {"invite": invite, "token": token})
    if request.method == "POST":
        try:
            membership = invite_accept(token=token, user=request.user)
        except InviteError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:invite_accept", token=token)
        request.session[SESSION_KEY] = membership.workspace_id
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return redirect("dashboard")
    return render(request, "accounts/invite_accept.html", {"invite": invite, "token": token})


def security_txt(request: HttpRequest) -> HttpResponse:
    body = (
        f"Contact: mailto:{settings.SUPPORT_EMAIL}\n"
        "Expires: 2027-12-31T23:59:59Z\n"
        "Preferred-Languages: en\n"
        f"Policy: {settings.SITE_URL}{reverse('privacy:security_policy')}\n"
    )
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
