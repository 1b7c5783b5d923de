"""URLs for benchmarks: the real app plus a bare view that runs the public list's query without the framework."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from developer.models import ApiKey
from developer.payloads import api_key_json


def bare_keys(request: HttpRequest) -> JsonResponse:
    """Same query and serialisation as GET /api/public/v1/keys?limit=1, no auth, gate, limits or envelope."""
    rows = list(
        ApiKey.objects.filter(organization_id=int(request.GET["org"])).order_by("-created_at", "-public_id")[:2]
    )
    return JsonResponse({"data": [api_key_json(row) for row in rows[:1]]})


urlpatterns = [path("bench/bare-keys", bare_keys), *app_urlpatterns]
