from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from alt.urls import urlpatterns as app_urlpatterns
from integrations.webhooks import webhook_view
from tests.testapp.webhooks import receiver


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    """The yardstick: the same server and middleware, no work."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    *app_urlpatterns,
    path("bench/bare/", bare),
    path("webhooks/test/", webhook_view(receiver)),
]
