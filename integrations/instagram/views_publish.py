from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST, require_safe

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from integrations.instagram.forms_publish import InstagramPostForm
from integrations.instagram.models import InstagramPost
from integrations.instagram.publishing import (
    access_post,
    account_for,
    post_create,
    post_publish,
)

POSTS_SHOWN = 50


@require_GET
@workspace_required
def posts(request: WorkspaceRequest) -> HttpResponse:
    rows = list(
        InstagramPost.objects.for_workspace(request.workspace)
        .defer("image_data")
        .select_related("author", "media")
        .order_by("-created_at", "-id")[:POSTS_SHOWN]
    )
    context = {
        "account": account_for(request.workspace),
        "posts": rows,
        "publishing": any(p.state == InstagramPost.State.PUBLISHING for p in rows),
    }
    return render(request, "instagram/publish_list.html", context)


@workspace_required
def post_new(request: WorkspaceRequest) -> HttpResponse:
    account = account_for(request.workspace)
    form = InstagramPostForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and account is not None and form.is_valid():
        publish = request.POST.get("action") != "draft"
        post_create(
            workspace=request.workspace,
            author=request.user,
            account=account,
            data=form.post_input(),
            publish=publish,
        )
        if publish:
            messages.success(request, "Publishing to Instagram: this takes a minute or two.")
        else:
            messages.success(request, "Saved as a draft. Publish it from the list when ready.")
        return redirect("instagram:posts")
    context = {"form": form, "account": account}
    return render(
        request, "instagram/publish_compose.html", context, status=400 if form.errors else 200
    )


@require_POST
@workspace_required
def post_publish_view(request: WorkspaceRequest, post_id: int) -> HttpResponse:
    post = access_post(request.workspace, post_id)
    if post_publish(post=post):
        messages.success(request, "Publishing to Instagram: this takes a minute or two.")
    else:
        messages.info(request, "This post is already publishing or published.")
    return redirect("instagram:posts")


@require_safe
def post_image(request: HttpRequest, token: str) -> HttpResponse:
    # Meta fetches the uploaded image here (§3.8: a public URL); the token is the secret.
    data = InstagramPost.objects.image_by_token(token)
    if data is None:
        raise Http404("No such image")
    response = HttpResponse(data, content_type="image/jpeg")
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    return response
