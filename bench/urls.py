from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from alt.urls import urlpatterns as app_urlpatterns
from contacts.models import Contact
from integrations.webhooks import webhook_view
from tests.testapp.webhooks import receiver


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    """The yardstick: the same server and middleware, no work."""
    return HttpResponse("ok", content_type="text/plain")


_ROWS = engines["django"].from_string(
    "<!DOCTYPE html><title>Contacts</title><ul>{% for contact in contacts %}"
    '<li><a href="/contacts/{{ contact.id }}/">{{ contact.first_name }} {{ contact.last_name }}</a>'
    " {{ contact.primary_email }} {{ contact.primary_phone }}"
    ' <time datetime="{{ contact.created_at.isoformat }}">{{ contact.created_at|date }}</time></li>'
    "{% endfor %}</ul>"
)


def bare_rows(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The pages' yardstick (bench/pages.py), served without middleware: one indexed query (the
    newest 50 contacts of a workspace, on contact_ws_created) rendered as a 50-row template."""
    contacts = Contact.objects.for_workspace(workspace_id).order_by("-created_at", "-id")[:50]  # type: ignore[arg-type]
    return HttpResponse(_ROWS.render({"contacts": contacts}))


urlpatterns = [
    *app_urlpatterns,
    path("bench/bare/", bare),
    path("bench/bare/rows/<int:workspace_id>/", bare_rows),
    path("webhooks/test/", webhook_view(receiver)),
]
