from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.lib.middleware import csp_allow_form_redirect
from integrations.instagram import oauth, services
from integrations.instagram.forms import DELETE, DisconnectForm
from integrations.instagram.models import InstagramDeletionRequest
from integrations.webhooks import signature_failures

OWNER_ONLY = "Only the workspace owner can connect or disconnect Instagram."


@require_GET
@workspace_required
def social_settings(request: WorkspaceRequest) -> HttpResponse:
    context = {
        "accounts": services.live_accounts(request.workspace),
        "enabled": services.instagram_enabled(),
        "may_manage": services.may_manage(request.membership),
        "signature_failures": signature_failures("instagram"),
        # `make run` without a Meta app: the emulator's console plays Meta's side by hand.
        "sandbox_console": (
            settings.INSTAGRAM_GRAPH_API_URL.rstrip("/") + "/console" if settings.SANDBOX else ""
        ),
    }
    response = render(request, "instagram/settings.html", context)
    # Connect POSTs here and is redirected on to Instagram's authorization window.
    return csp_allow_form_redirect(response, settings.INSTAGRAM_OAUTH_AUTHORIZE_URL)


@require_POST
@workspace_required
def connect(request: WorkspaceRequest) -> HttpResponse:
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    if not services.instagram_enabled():
        messages.error(request, "Instagram is not set up on this server.")
        return redirect("instagram:settings")
    return redirect(oauth.authorization_url(request.session))


@require_GET
@workspace_required
def callback(request: WorkspaceRequest) -> HttpResponse:
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    try:
        code = oauth.callback_code(request.session, request.GET.dict())
        account = services.instagram_connect(
            workspace=request.workspace, user=request.user, code=code
        )
    except (oauth.OAuthError, services.ConnectError) as exc:
        messages.error(request, exc.message)
        return redirect("instagram:settings")
    messages.success(
        request,
        f"Instagram @{account.username} is connected. New DMs and comments will arrive in ALT.",
    )
    return redirect("instagram:settings")


@require_http_methods(["GET", "POST"])
@workspace_required
def disconnect(request: WorkspaceRequest, account_id: int) -> HttpResponse:
    account = services.access_instagram_account(request.workspace, account_id)
    if not services.may_manage(request.membership):
        raise PermissionDenied(OWNER_ONLY)
    form = DisconnectForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        delete_data = form.cleaned_data["choice"] == DELETE
        services.instagram_disconnect(account, delete_data=delete_data)
        if delete_data:
            text = (f"Instagram @{account.username} is disconnected and its imported data is "
                    "being deleted. Your contacts stay.")  # fmt: skip
        else:
            text = (f"Instagram @{account.username} is disconnected. ALT deleted its access; "
                    "the conversation history stays.")  # fmt: skip
        messages.success(request, text)
        return redirect("instagram:settings")
    status = 400 if form.is_bound else 200
    return render(
        request, "instagram/disconnect.html", {"account": account, "form": form}, status=status
    )


# --- Meta's callbacks (IG-7): no session, authenticated by the signed_request -------------------
def _signed(request: HttpRequest) -> oauth.SignedRequest | None:
    try:
        return oauth.signed_request_parse(request.POST.get("signed_request", ""))
    except oauth.BadSignedRequest:
        return None


@csrf_exempt  # Meta's server posts it; the signed_request's HMAC is the authentication
@require_POST
def deauthorize(request: HttpRequest) -> HttpResponse:
    signed = _signed(request)
    if signed is None:
        return HttpResponse("bad signature", status=403, content_type="text/plain")
    services.instagram_deauthorize(app_user_id=signed.app_user_id)
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt  # Meta's server posts it; the signed_request's HMAC is the authentication
@require_POST
def data_deletion(request: HttpRequest) -> HttpResponse:
    signed = _signed(request)
    if signed is None:
        return HttpResponse("bad signature", status=403, content_type="text/plain")
    deletion = services.instagram_deletion_request_create(app_user_id=signed.app_user_id)
    code = deletion.confirmation_code
    url = settings.SITE_URL + reverse("instagram_webhooks:deletion_status", args=[code])
    return JsonResponse({"url": url, "confirmation_code": code})


@require_GET
def deletion_status(request: HttpRequest, confirmation_code: str) -> HttpResponse:
    deletion = InstagramDeletionRequest.objects.filter(confirmation_code=confirmation_code).first()
    if deletion is None:
        raise Http404("No such deletion request")
    return render(request, "instagram/deletion_status.html", {"deletion": deletion})
