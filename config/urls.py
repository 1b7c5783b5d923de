from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView

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

# Django admin signs in through allauth's login, so staff pass the same limits and TOTP challenge
# (set before admin.site.urls builds its routes).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


urlpatterns = [
    path(API_PREFIX, include(api_patterns)),
    path("admin/", admin.site.urls),
    # Sign-in, password reset and change, re-authentication, two-factor (accounts/2fa/), sessions (accounts/sessions/).
    path("accounts/", include("allauth.urls")),
    # The addresses of Django's auth views before allauth, kept for bookmarks.
    path("accounts/password_change/", RedirectView.as_view(pattern_name="account_change_password")),
    path("accounts/password_reset/", RedirectView.as_view(pattern_name="account_reset_password")),
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
