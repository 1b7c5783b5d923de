"""Staff use Django admin only with a second factor."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .signin import has_totp, two_factor_enrolment


class StaffTwoFactorMiddleware:
    """A staff member without an authenticator app is sent to set one up before any admin page.

    The admin's own login is allauth's (config/urls.py), so a staff member who has TOTP reached this
    request through the TOTP challenge."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.ADMIN_REQUIRE_TWO_FACTOR and request.path.startswith(reverse("admin:index")):
            user = request.user
            if user.is_authenticated and user.is_staff and not has_totp(user):
                return two_factor_enrolment(
                    request, "Staff need two-factor authentication to use the admin: set up an authenticator app."
                )
        return self.get_response(request)
