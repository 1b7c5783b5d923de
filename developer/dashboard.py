"""The dashboard toolkit: the request context (who is signed in, which organisation they act for, and
their role), page-or-partial rendering, client redirects, no-store responses for secrets, one-time
form tokens and keyset paging. Every app's dashboard views import these from here.

Every Settings → Developer page is decorated with `@dashboard_view`; it sets `request.organization`
and `request.membership` from the organisation picked for this session (the org picker stores its
id), so views start every queryset from `request.organization` and never from a URL parameter.
"""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from accounts.models import Membership, Organization
from accounts.requests import AuthenticatedHttpRequest
from accounts.signin import has_totp, two_factor_enrolment
from core.cursor import InvalidCursor, decode_cursor, encode_cursor, keyset_after
from core.modes import Mode
from developer.public_api.input_checks import bad_query_parameters
from developer.public_api.request_log import API_PATH_PREFIX


class HtmxHttpRequest(AuthenticatedHttpRequest):
    """The request of a dashboard view: django-htmx's details plus what `dashboard_view` sets."""

    htmx: HtmxDetails
    organization: Organization
    membership: Membership


# The session key holding the id of the organisation the user acts for.
SESSION_ORG_KEY = "developer_organization_id"

View = Callable[..., HttpResponse]


def memberships_of(user: Any) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("organization").order_by("organization__name"))


def current_membership(request: AuthenticatedHttpRequest) -> Membership | None:
    """The membership for the organisation in the session, or the only one the user has."""
    org_id = request.session.get(SESSION_ORG_KEY)
    if org_id is not None:
        membership = (
            Membership.objects.filter(user=request.user, organization_id=org_id).select_related("organization").first()
        )
        if membership is not None:
            return membership
        # Removed from that organisation since: forget it and choose again.
        request.session.pop(SESSION_ORG_KEY, None)
    memberships = memberships_of(request.user)
    if len(memberships) == 1:
        request.session[SESSION_ORG_KEY] = memberships[0].organization_id
        return memberships[0]
    return None


def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def dashboard_view(view: View) -> View:
    """login_required, then the organisation: no membership → a page saying so; several → the picker; an
    organisation that requires two-factor authentication and a member without it → TOTP enrolment."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = current_membership(request)
        if membership is None:
            if not Membership.objects.filter(user=request.user).exists():
                return render(request, "developer/no_organization.html", status=403)
            picker = reverse("developer:choose_org")
            return redirect(f"{picker}?{urlencode({'next': request.get_full_path()})}")
        if membership.organization.require_two_factor and not has_totp(request.user):
            return two_factor_enrolment(
                request,
                f"{membership.organization.name} requires two-factor authentication: set up an authenticator app.",
            )
        request.organization = membership.organization
        request.membership = membership
        # Times on every page read in the business's own timezone.
        with timezone.override(_zone(membership.organization.timezone)):
            return view(request, *args, **kwargs)

    return login_required(wrapper)


def require_manager(request: HtmxHttpRequest) -> None:
    """Owners and admins manage; a viewer's POST is refused with 403 whatever the page showed."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can_manage:
        raise PermissionDenied("Only owners and admins can change this.")


# --- the "Viewing test data" switch ---------------------------------------------------------------------


def viewing_mode(request: HtmxHttpRequest) -> str:
    """The mode the signed-in person is viewing ("live" or "test"), remembered on their membership.

    Lists of mode-carrying objects (tools, agents, data fields, invocations, deliveries, request logs,
    usage) show this mode only, and what the dashboard creates is created in it."""
    membership = getattr(request, "membership", None)
    mode = membership.viewing_mode if membership is not None else Mode.LIVE
    return mode if mode in Mode.values else Mode.LIVE


# --- htmx: page or partial, redirects ----------------------------------------------------------------


def page_or_partial(request: HtmxHttpRequest, page: str, partial: str) -> str:
    """The template to render: the named partial of `page` for htmx, the whole page otherwise."""
    return f"{page}#{partial}" if request.htmx else page


def client_redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Go to `url`: htmx follows an `HX-Redirect`, a plain form post a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- secrets shown once --------------------------------------------------------------------------------


def no_store(response: HttpResponse) -> HttpResponse:
    """A response that shows a secret: never cached, never stored."""
    response["Cache-Control"] = "no-store"
    return response


def new_form_token() -> str:
    """A one-time token for a create form, so a reload that re-posts it cannot create a second object."""
    return secrets.token_urlsafe(16)


def form_token_used(request: HttpRequest, session_key: str, token: str) -> bool:
    return bool(token) and token in request.session.get(session_key, [])


def remember_form_token(request: HttpRequest, session_key: str, token: str) -> None:
    """Remember the last 20 tokens used in this session under `session_key`."""
    if token:
        request.session[session_key] = [*request.session.get(session_key, []), token][-20:]


# --- keyset paging for dashboard lists ------------------------------------------------------------


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None
    is_first: bool


def keyset_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    limit: int = 50,
    time_field: str = "created_at",
    id_field: str = "public_id",
) -> Page:
    """Newest first on (time, id) with the same opaque cursors as the API; a bad cursor means page one."""
    decoded = None
    if cursor:
        try:
            decoded = decode_cursor(cursor)
        except InvalidCursor:
            decoded = None
    if decoded is not None:
        value, last_id = decoded
        try:
            queryset = keyset_after(queryset, value, last_id, time_field=time_field, id_field=id_field)
        except ValueError:  # an integer id that is not one: a forged cursor
            decoded = None
    rows = list(queryset.order_by(f"-{time_field}", f"-{id_field}")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(getattr(rows[-1], time_field), str(getattr(rows[-1], id_field)))
    return Page(rows=rows, next_cursor=next_cursor, is_first=decoded is None)


class FormInputMiddleware:
    """Form posts and query strings outside the public API (the dashboard, sign-in, admin) get the API's
    input rules before any view runs: text no database can store (NUL, lone surrogates) is a 400 naming
    the field, and a form over Django's DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, never a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PATH_PREFIX):  # the API's parser and views apply the same rules
            return self.get_response(request)
        try:
            bad = bad_query_parameters(request.GET)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                bad |= bad_query_parameters(request.POST)
        except RequestDataTooBig:
            return HttpResponse(
                "The form is too large to accept.", status=413, content_type="text/plain; charset=utf-8"
            )
        except TooManyFieldsSent:
            return HttpResponseBadRequest("The form has too many fields.", content_type="text/plain; charset=utf-8")
        if bad:
            lines = [f"{name.encode('unicode_escape').decode()}: {problem}" for name, problem in bad.items()]
            return HttpResponseBadRequest(
                "The form was not accepted.\n" + "\n".join(lines), content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
