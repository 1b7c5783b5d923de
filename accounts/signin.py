"""Sign-in policy on top of django-allauth: who needs a second factor, and the "sudo" window.

allauth signs people in (password, then TOTP or a recovery code when they have one), limits failed
attempts and handles re-authentication. What it does not know is ours: an organisation can require TOTP
of its members, staff need it for /admin/, and some actions (revealing a webhook secret, creating or
rotating a live key, changing a role) need a sign-in or a password confirmation no older than
ACCOUNT_REAUTHENTICATION_TIMEOUT. Both answers work for htmx requests, which must not swap a whole page
into a dialog: they get an HX-Redirect instead of a 302.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

# When this session last signed in, through whichever door (allauth's login, or Django's `login()` as the
# test client and management tooling use): a fresh sign-in opens the sudo window like a confirmation does.
SIGNED_IN_AT_SESSION_KEY = "accounts_signed_in_at"


@receiver(user_logged_in, dispatch_uid="accounts-signed-in-at")
def _remember_sign_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT_SESSION_KEY] = time.time()


def has_totp(user: Any) -> bool:
    """The user has an authenticator app set up (allauth's TOTP authenticator)."""
    return bool(user.is_authenticated) and is_mfa_enabled(user, [Authenticator.Type.TOTP])


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def two_factor_enrolment(request: HttpRequest, reason: str) -> HttpResponse:
    """Send the user to set up TOTP, saying why (an htmx request gets an HX-Redirect)."""
    messages.warning(request, reason)
    url = reverse("mfa_activate_totp")
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


def last_authenticated_at(request: HttpRequest) -> float:
    """Unix time of this session's latest sign-in, password confirmation or TOTP code (0: never)."""
    latest = float(request.session.get(SIGNED_IN_AT_SESSION_KEY) or 0)
    if request.user.is_authenticated:
        for record in get_authentication_records(request, request.user):
            latest = max(latest, float(record.get("at") or 0))
    return latest


def recently_authenticated(request: HttpRequest) -> bool:
    """Inside the sudo window: signed in or confirmed within ACCOUNT_REAUTHENTICATION_TIMEOUT seconds."""
    return time.time() - last_authenticated_at(request) < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def require_recent_authentication(request: HttpRequest) -> HttpResponse | None:
    """None inside the sudo window; otherwise the response that asks for the password (or a TOTP code).

    A plain request is handed to allauth (ReauthenticationRequired): it keeps a POST and replays it once the
    password is confirmed. An htmx request, made from a dialog, is sent with HX-Redirect to the confirmation
    page, which brings the user back to the page they were on to try again."""
    if recently_authenticated(request):
        return None
    if not _is_htmx(request):
        raise ReauthenticationRequired()
    methods = get_adapter(request).get_reauthentication_methods(request.user)
    url = methods[0]["url"] if methods else reverse("account_login")
    # Back to the page the dialog was opened on (htmx sends it; the request's own URL may be POST-only).
    back = request.htmx.current_url_abs_path or resolve_url(settings.LOGIN_REDIRECT_URL)  # type: ignore[attr-defined]
    return HttpResponseClientRedirect(f"{url}?{urlencode({'next': back})}")
