from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

import agents.urls
import developer.urls
import developer.usage.urls
import phone.urls
import webhooks.urls
from developer.public_api.base import OpenApiDocument
from developer.public_api.exceptions import json_error

API_PREFIX = "api/public/v1/"

api_patterns = [
    *developer.urls.api_urlpatterns,
    *webhooks.urls.api_urlpatterns,
    *phone.urls.api_urlpatterns,
    *developer.usage.urls.api_urlpatterns,
    *agents.urls.api_urlpatterns,
    path("openapi.json", OpenApiDocument.as_view(), name="openapi"),
    *developer.urls.catch_all_api_urlpatterns,  # last: unknown routes answer in the envelope
]

urlpatterns = [
    path(API_PREFIX, include(api_patterns)),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("webhooks.urls")),
    path("", include("phone.urls")),
    path("", include("developer.usage.urls")),
    path("", include("agents.urls")),
    path("", include("ops.urls")),
    path("", include("developer.urls")),
]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/" + API_PREFIX):
        return json_error(request, status_code=404, code="RESOURCE_NOT_FOUND", message="The resource does not exist.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/" + API_PREFIX):
        return json_error(
            request,
            status_code=500,
            code="INTERNAL_ERROR",
            message="An unexpected error occurred. Give the requestId to support.",
        )
    return defaults.server_error(request)
