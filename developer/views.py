"""Settings → Developer dashboard: organisation picker, API keys, request logs and the audit log.

Every key action calls the same service as the public API (`developer.services`), with the signed-in
user as the actor. Each page works as plain links and forms; with htmx the same views answer with
a named partial of the page's template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from accounts import services as accounts_services
from accounts.models import AuditEntry, Role
from accounts.requests import AuthenticatedHttpRequest
from accounts.services import membership_viewing_mode_set
from accounts.signin import has_totp, require_recent_authentication
from billing.access import access_state
from billing.models import PlatformAddon, Wallet
from core import rotation
from core.errors import ServiceError

from . import services
from .access_status import QUALIFYING_PLANS, plan_list
from .dashboard import (
    SESSION_ORG_KEY,
    HtmxHttpRequest,
    client_redirect,
    dashboard_view,
    form_token_used,
    keyset_page,
    memberships_of,
    new_form_token,
    no_store,
    page_or_partial,
    remember_form_token,
    require_manager,
    viewing_mode,
)
from .models import AccessRequest, ApiKey, Mode, RequestLog
from .nav import nav_links
from .quickstart import PLACEHOLDER_KEY, quickstart_snippets
from .scopes import ALL_SCOPES, READ_ONLY_SCOPES, SCOPES

# Expiry choices offered when creating a key (the API accepts any future date-time).
EXPIRY_CHOICES: dict[str, tuple[str, timedelta | None]] = {
    "never": ("Never", None),
    "7d": ("In 7 days", timedelta(days=7)),
    "30d": ("In 30 days", timedelta(days=30)),
    "90d": ("In 90 days", timedelta(days=90)),
    "365d": ("In 1 year", timedelta(days=365)),
}
ACCESS_PRESETS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "full": ("Full access", ALL_SCOPES),
    "read": ("Read-only", READ_ONLY_SCOPES),
    "custom": ("Custom", None),
}
# Forms already used to create a key in this session: re-posting one (a browser reload of the
# "secret shown once" page) must not create a second key or show a secret again.
_USED_FORMS_SESSION_KEY = "developer_used_key_forms"
# The key "Create a test key for the quickstart" makes: read-only (the quickstart only reads) and short-lived.
QUICKSTART_KEY_NAME = "Quickstart"
QUICKSTART_KEY_LIFETIME = timedelta(days=30)
LOG_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50
# Error codes of the public contract, offered as a request-log filter.
ERROR_CODES = (
    "API_KEY_REQUIRED",
    "INVALID_API_KEY",
    "SUBSCRIPTION_REQUIRED",
    "PLATFORM_ADDON_REQUIRED",
    "INSUFFICIENT_CREDITS",
    "INSUFFICIENT_SCOPE",
    "BUSINESS_SUSPENDED",
    "RESOURCE_NOT_FOUND",
    "VALIDATION_ERROR",
    "METHOD_NOT_ALLOWED",
    "CONFLICT",
    "IDEMPOTENCY_CONFLICT",
    "RATE_LIMIT_EXCEEDED",
    "INTERNAL_ERROR",
)


# --- shell -------------------------------------------------------------------------------------------


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    return redirect("developer:home")


@require_GET
@dashboard_view
def home(request: HtmxHttpRequest) -> HttpResponse:
    return redirect("developer:keys")


@login_required
@require_http_methods(["GET", "POST"])
def choose_org(request: AuthenticatedHttpRequest) -> HttpResponse:
    memberships = memberships_of(request.user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("developer:home")
    if request.method == "POST":
        chosen = next((m for m in memberships if m.organization.public_id == request.POST.get("organization")), None)
        if chosen is None:
            return render(
                request,
                "developer/choose_org.html",
                {"memberships": memberships, "next": next_url, "error": "Choose one of your organisations."},
                status=400,
            )
        request.session[SESSION_ORG_KEY] = chosen.organization_id
        return redirect(next_url)
    current = request.session.get(SESSION_ORG_KEY)
    return render(
        request, "developer/choose_org.html", {"memberships": memberships, "next": next_url, "current_org_id": current}
    )


# --- API keys ----------------------------------------------------------------------------------------


def _key_for(request: HtmxHttpRequest, key_id: str) -> ApiKey:
    """The key with this public id in the acting organisation, or 404 (another business's id included)."""
    key = ApiKey.objects.filter(organization=request.organization, public_id=key_id).first()
    if key is None:
        raise Http404("No such API key.")
    return key


def scope_summary(scopes: list[str]) -> str:
    scope_set = set(scopes)
    if scope_set == set(ALL_SCOPES):
        return "Full access"
    if scope_set == set(READ_ONLY_SCOPES):
        return "Read-only"
    return f"{len(scope_set)} scope{'s' if len(scope_set) != 1 else ''}"


@dataclass
class KeyRow:
    """A key as the table shows it: a row, with the older keys of its rotation chain folded under it."""

    key: ApiKey
    status: str
    scope_label: str
    replaced_by: ApiKey | None
    previous: list[KeyRow] = field(default_factory=list)

    @property
    def public_id(self) -> str:
        return self.key.public_id

    @property
    def previous_summary(self) -> str:
        """ "2 previous, expire within 23 h": what the folded predecessors still do, in one line."""
        working = [row.key.expires_at for row in self.previous if row.status in USABLE_STATUSES]
        ended = len(self.previous) - len(working)
        parts = [f"{len(self.previous)} previous"]
        if working:
            last = max(when for when in working if when is not None)
            verb = "expires" if len(working) == 1 else "expire"
            parts.append(f"{len(working) if ended else ''} {verb} within {time_left(last - timezone.now())}".strip())
        if ended:
            parts.append(f"{ended} revoked or expired")
        return ", ".join(parts)


# The list badges a key "Expiring" only this close to its end (the API's status says "expiring" for any
# key with an expiry): a fresh 30-day key is simply active.
EXPIRING_BADGE_WITHIN = timedelta(days=7)
USABLE_STATUSES = ("active", "expiring")
# ?show=all lists revoked and expired keys too; by default the list shows the keys that still work.
SHOW_ALL = "all"


def time_left(delta: timedelta) -> str:
    """A short, rounded-up duration for a list line: "45 min", "23 h", "3 days"."""
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = -(-minutes // 60)
    if hours < 48:
        return f"{hours} h"
    return f"{-(-hours // 24)} days"


def _key_row(key: ApiKey, now: datetime) -> KeyRow:
    replaced_by = getattr(key, "rotated_to", None) if hasattr(key, "rotated_to") else None
    status = key.status(now)
    if status == "expiring" and key.expires_at is not None and key.expires_at - now > EXPIRING_BADGE_WITHIN:
        status = "active"
    return KeyRow(key=key, status=status, scope_label=scope_summary(key.scopes), replaced_by=replaced_by)


def _key_rows(request: HtmxHttpRequest, mode: str, *, show_all: bool) -> list[KeyRow]:
    """The shown keys, newest first, one row per rotation chain: a chain's newest shown key is the row and
    its older shown keys (rotated out, in their grace period) fold under it, each still revocable."""
    keys = ApiKey.objects.filter(organization=request.organization).select_related("rotated_to", "created_by")
    now = timezone.now()
    all_keys = list(keys.order_by("-created_at", "-public_id"))
    predecessor = {key.pk: key.rotated_from_id for key in all_keys}

    def chain_of(key: ApiKey) -> int:
        pk, seen = key.pk, set()
        while (older := predecessor.get(pk)) is not None and pk not in seen:  # `seen`: never loops on bad data
            seen.add(pk)
            pk = older
        return pk

    heads: dict[int, KeyRow] = {}
    rows: list[KeyRow] = []
    for key in all_keys:
        if mode in Mode.values and key.mode != mode:
            continue
        row = _key_row(key, now)
        if not show_all and row.status not in USABLE_STATUSES:
            continue
        chain = chain_of(key)
        if chain in heads:
            heads[chain].previous.append(row)  # newest first, so the head came before
        else:
            heads[chain] = row
            rows.append(row)
    return rows


def _keys_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    mode = request.GET.get("mode", "")
    mode = mode if mode in Mode.values else ""
    show_all = request.GET.get("show") == SHOW_ALL
    keys = ApiKey.objects.filter(organization=request.organization)
    shown = keys if show_all else keys.usable()
    counts = {m: shown.filter(mode=m).count() for m in Mode.values}
    in_mode = keys.filter(mode=mode) if mode else keys
    return {
        "rows": _key_rows(request, mode, show_all=show_all),
        "mode_filter": mode,
        "counts": counts,
        "total": sum(counts.values()),
        "show_all": show_all,
        # How many revoked or expired keys the default view hides (in the chosen mode), for the filter link.
        "hidden_count": in_mode.count() - in_mode.usable().count(),
        # The mode tabs keep the status filter and the filter link keeps the mode.
        "show_query": f"&show={SHOW_ALL}" if show_all else "",
        "mode_query": f"mode={mode}&" if mode else "",
        "usable_statuses": USABLE_STATUSES,
        "scopes": SCOPES,
        "keys_blocked": _keys_blocked(request),
        "quickstart": _quickstart_context(request, created_key=extra.get("created_key"), secret=extra.get("secret")),
        **extra,
    }


def _quickstart_context(request: HtmxHttpRequest, *, created_key: ApiKey | None, secret: str | None) -> dict[str, Any]:
    """The Quickstart aimed at this instance (the address the browser reached it at) with a test key: the full
    secret in the one response that created it, otherwise the chosen key's masked form to replace."""
    test_keys = list(
        ApiKey.objects.filter(organization=request.organization, mode=Mode.TEST).usable().order_by("-created_at")
    )
    full_secret = bool(created_key and secret and created_key.mode == Mode.TEST)
    chosen = created_key if full_secret else None
    if chosen is None:
        wanted = request.GET.get("quickstart_key", "")
        chosen = next((k for k in test_keys if k.public_id == wanted), test_keys[0] if test_keys else None)
    key_text = secret if full_secret and secret else (chosen.masked if chosen else PLACEHOLDER_KEY)
    base_url = request.build_absolute_uri("/api/public/v1").rstrip("/")
    return {
        "base_url": base_url,
        "test_keys": test_keys,
        "chosen": chosen,
        "full_secret": full_secret,
        "snippets": quickstart_snippets(base_url=base_url, key=key_text),
        "form_token": new_form_token(),
    }


def _keys_blocked(request: HtmxHttpRequest) -> bool:
    """No key can be created until our team grants the add-on (the gate's cached state: no query when warm)."""
    return not access_state(request.organization.pk).addon_active


@require_GET
@dashboard_view
def keys(request: HtmxHttpRequest) -> HttpResponse:
    context = _keys_context(request)
    if request.htmx and request.htmx.target == "key-table":
        return render(request, "developer/keys.html#key-table", context)
    return render(request, "developer/keys.html", context)


def _create_form_context(
    values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    values = values or {"mode": Mode.TEST, "access": "full", "scopes": list(ALL_SCOPES), "expires": "never"}
    return {
        "values": values,
        "errors": errors or {},
        "scope_items": SCOPES.items(),
        "access_presets": ACCESS_PRESETS,
        "expiry_choices": EXPIRY_CHOICES,
        "form_token": values.get("form_token") or new_form_token(),
        "read_only_scopes": " ".join(READ_ONLY_SCOPES),
        "all_scopes": " ".join(ALL_SCOPES),
    }


def _render_create_form(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = page_or_partial(request, "developer/key_create.html", "create-form")
    return render(request, template, context, status=status)


def _secret_response(
    request: HtmxHttpRequest, *, key: ApiKey, secret: str, rotated_from: ApiKey | None, status: int
) -> HttpResponse:
    """The one response that ever contains the secret. Never cached, never stored."""
    context = {"created_key": key, "secret": secret, "rotated_from": rotated_from}
    if request.htmx:
        response = render(request, "developer/keys.html#secret-panel", context, status=status)
        trigger_client_event(response, "keys-changed")
    else:
        response = render(request, "developer/keys.html", _keys_context(request, **context), status=status)
    no_store(response)
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def key_create(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    if _keys_blocked(request):
        # Refused here too, not only by the hidden button: a key is useless (402) until the add-on is granted.
        template = page_or_partial(request, "developer/key_create.html", "addon-required")
        return render(request, template, {"keys_blocked": True}, status=409)
    if request.method == "GET":
        return _render_create_form(request, _create_form_context())

    form_token = request.POST.get("form_token", "")
    if form_token_used(request, _USED_FORMS_SESSION_KEY, form_token):
        messages.info(request, "That key was already created. Its secret was shown once and cannot be shown again.")
        return client_redirect(request, reverse("developer:keys"))

    access = request.POST.get("access", "custom")
    preset = ACCESS_PRESETS.get(access, ACCESS_PRESETS["custom"])[1]
    scopes = list(preset) if preset is not None else request.POST.getlist("scopes")
    expires = request.POST.get("expires", "never")
    values = {
        "name": request.POST.get("name", ""),
        "mode": request.POST.get("mode", ""),
        "access": access,
        "scopes": scopes,
        "expires": expires,
        "form_token": form_token,
    }
    if expires not in EXPIRY_CHOICES:
        errors = services.api_key_check(name=values["name"], mode=values["mode"], scopes=scopes)
        errors["expires"] = ["Choose when the key expires."]
        return _render_create_form(request, _create_form_context(values, errors), 400)
    if values["mode"] == Mode.LIVE and (reauthenticate := require_recent_authentication(request)):
        return reauthenticate  # a live key spends money: confirm the password first
    lifetime = EXPIRY_CHOICES[expires][1]
    try:
        key, secret = services.api_key_create(
            organization=request.organization,
            name=values["name"],
            mode=values["mode"],
            scopes=scopes,
            expires_at=timezone.now() + lifetime if lifetime else None,
            actor=request.user,
        )
    except ValidationError as exc:
        return _render_create_form(request, _create_form_context(values, exc.message_dict), 400)
    remember_form_token(request, _USED_FORMS_SESSION_KEY, form_token)
    return _secret_response(request, key=key, secret=secret, rotated_from=None, status=201)


@require_POST
@dashboard_view
def key_quickstart(request: HtmxHttpRequest) -> HttpResponse:
    """ "Create a test key for the quickstart": the same service as the create form, with fixed choices; the
    page comes back with the secret shown once and the snippets filled with it."""
    require_manager(request)
    form_token = request.POST.get("form_token", "")
    if _keys_blocked(request) or form_token_used(request, _USED_FORMS_SESSION_KEY, form_token):
        if not _keys_blocked(request):
            messages.info(request, "That key was already created. Its secret was shown once and cannot be shown again.")
        return redirect("developer:keys")
    key, secret = services.api_key_create(
        organization=request.organization,
        name=QUICKSTART_KEY_NAME,
        mode=Mode.TEST,
        scopes=list(READ_ONLY_SCOPES),
        expires_at=timezone.now() + QUICKSTART_KEY_LIFETIME,
        actor=request.user,
    )
    remember_form_token(request, _USED_FORMS_SESSION_KEY, form_token)
    response = render(
        request,
        "developer/keys.html",
        _keys_context(request, created_key=key, secret=secret, rotated_from=None),
        status=201,
    )
    return no_store(response)


def _render_rotate_form(
    request: HtmxHttpRequest, key: ApiKey, *, grace: str = rotation.DEFAULT, error: str = "", status: int = 200
) -> HttpResponse:
    context = {"key": key, "grace_choices": rotation.LABELS, "grace": grace, "error": error}
    template = page_or_partial(request, "developer/key_rotate.html", "rotate-form")
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@dashboard_view
def key_rotate(request: HtmxHttpRequest, key_id: str) -> HttpResponse:
    require_manager(request)
    key = _key_for(request, key_id)
    if key.mode == Mode.LIVE and (reauthenticate := require_recent_authentication(request)):
        return reauthenticate  # asked before the dialog opens, and again if the window closed meanwhile
    if request.method == "GET":
        return _render_rotate_form(request, key)
    grace = request.POST.get("grace", "")
    if grace not in rotation.WINDOWS:
        return _render_rotate_form(
            request, key, grace=grace, error="Choose how long the old key keeps working.", status=400
        )
    try:
        new_key, secret = services.api_key_rotate(key=key, grace=grace, actor=request.user)
    except ServiceError as exc:
        return _render_rotate_form(request, key, grace=grace, error=exc.message, status=exc.status)
    key.refresh_from_db()
    return _secret_response(request, key=new_key, secret=secret, rotated_from=key, status=201)


@require_http_methods(["GET", "POST"])
@dashboard_view
def key_revoke(request: HtmxHttpRequest, key_id: str) -> HttpResponse:
    require_manager(request)
    key = _key_for(request, key_id)
    if request.method == "GET":
        template = page_or_partial(request, "developer/key_revoke.html", "revoke-form")
        return render(request, template, {"key": key})
    key = services.api_key_revoke(key=key, actor=request.user)
    # The list again with the message, from the dialog too: a change always says what it did.
    messages.success(request, f"Revoked {key.name} ({key.masked}). Requests using it now fail with INVALID_API_KEY.")
    return client_redirect(request, reverse("developer:keys"))


# --- the "Viewing test data" switch ------------------------------------------------------------------


@require_POST
@dashboard_view
def viewing_mode_switch(request: HtmxHttpRequest) -> HttpResponse:
    """Turn "Viewing test data" on or off for the signed-in person (any role: it only changes what they see).

    Goes back to the page it was sent from; a list page then shows the other mode's objects."""
    try:
        membership_viewing_mode_set(membership=request.membership, mode=request.POST.get("mode", ""))
    except ValidationError:
        return HttpResponse("Choose live or test.", status=400, content_type="text/plain; charset=utf-8")
    back = request.POST.get("next", "")
    if not (back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
        back = reverse("developer:home")
    return client_redirect(request, _page_after_switch(request, back))


def _page_after_switch(request: HtmxHttpRequest, path: str) -> str:
    """The page to show after the switch: the same page, unless it shows one object (a tool, an agent…),
    which the other mode does not have; then the list of its section."""
    try:
        match = resolve(path)
    except Resolver404:
        return reverse("developer:home")
    if not match.kwargs:
        return path
    sections = [link.url for link in nav_links(request) if path.startswith(link.url)]
    return max(sections, key=len) if sections else reverse("developer:home")


# --- request logs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilters:
    key: str = ""
    status: str = ""
    error_code: str = ""
    mode: str = ""

    def apply(self, queryset: Any) -> Any:
        if self.key:
            queryset = queryset.filter(api_key__public_id=self.key)
        if self.status in ("2xx", "3xx", "4xx", "5xx"):
            low = int(self.status[0]) * 100
            queryset = queryset.filter(status_code__gte=low, status_code__lt=low + 100)
        if self.error_code:
            queryset = queryset.filter(error_code=self.error_code)
        if self.mode in Mode.values:
            queryset = queryset.filter(mode=self.mode)
        return queryset

    def query(self, **extra: str) -> str:
        params = {"key": self.key, "status": self.status, "error_code": self.error_code, "mode": self.mode, **extra}
        return urlencode({k: v for k, v in params.items() if v})

    @property
    def active(self) -> bool:
        return any((self.key, self.status, self.error_code, self.mode))


def _logs(request: HtmxHttpRequest) -> Any:
    """The request log of the acting organisation in the mode being viewed. Requests that named no
    usable key have no mode; they show with live data, where a broken integration is looked for."""
    mode = viewing_mode(request)
    modes = [mode, ""] if mode == Mode.LIVE else [mode]
    return RequestLog.objects.filter(organization=request.organization, mode__in=modes)


@require_GET
@dashboard_view
def logs(request: HtmxHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    if search:
        found = _logs(request).filter(request_id=search).first()
        if found is not None:
            return redirect("developer:log_detail", request_id=found.request_id)
    # The mode is the "Viewing test data" switch's, not a filter of its own.
    filters = LogFilters(
        key=request.GET.get("key", ""),
        status=request.GET.get("status", ""),
        error_code=request.GET.get("error_code", ""),
    )
    queryset = filters.apply(_logs(request).select_related("api_key"))
    page = keyset_page(queryset, cursor=request.GET.get("cursor"), limit=LOG_PAGE_SIZE, id_field="id")
    context = {
        "page": page,
        "filters": filters,
        "search": search,
        "search_missed": bool(search),
        "keys": ApiKey.objects.filter(organization=request.organization, mode=viewing_mode(request)).order_by(
            "-created_at"
        ),
        "error_codes": ERROR_CODES,
        "status_classes": ("2xx", "4xx", "5xx"),
        "next_query": filters.query(cursor=page.next_cursor) if page.next_cursor else "",
        "has_any": page.rows or _logs(request).exists(),
        "api_base_url": request.build_absolute_uri("/api/public/v1"),
    }
    if request.htmx and request.htmx.target == "log-more":
        return render(request, "developer/logs.html#log-rows", context)
    return render(request, "developer/logs.html", context)


@require_GET
@dashboard_view
def log_detail(request: HtmxHttpRequest, request_id: str) -> HttpResponse:
    entry = (
        RequestLog.objects.filter(organization=request.organization, request_id=request_id)
        .select_related("api_key", "agent")
        .first()
    )
    if entry is None:
        raise Http404("No such request in this organisation's logs.")
    return render(request, "developer/log_detail.html", {"entry": entry})


# --- audit log ---------------------------------------------------------------------------------------


def audit_details(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """Metadata as readable "name: value" pairs (lists joined, nested objects compact)."""
    pairs = []
    for name, value in (metadata or {}).items():
        if isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value) or "—"
        elif isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
        else:
            text = "—" if value in (None, "") else str(value)
        pairs.append((name, text))
    return pairs


@require_GET
@dashboard_view
def audit(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    entries = AuditEntry.objects.filter(organization=request.organization).select_related("actor_user")
    action = request.GET.get("action", "")
    if action:
        entries = entries.filter(action=action)
    page = keyset_page(entries, cursor=request.GET.get("cursor"), limit=AUDIT_PAGE_SIZE)
    for entry in page.rows:
        entry.details = audit_details(entry.metadata)
    actions = (
        AuditEntry.objects.filter(organization=request.organization)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    context = {
        "page": page,
        "action": action,
        "actions": list(actions),
        "next_query": urlencode({k: v for k, v in {"action": action, "cursor": page.next_cursor}.items() if v}),
        "retention_days": settings.AUDIT_RETENTION_DAYS,
    }
    if request.htmx and request.htmx.target == "audit-more":
        return render(request, "developer/audit.html#audit-rows", context)
    return render(request, "developer/audit.html", context)


# --- Developer Platform access -----------------------------------------------------------------------


def _access_request_for(request: HtmxHttpRequest, request_id: str) -> AccessRequest:
    """The access request with this public id in the acting organisation, or 404."""
    access_request = AccessRequest.objects.filter(organization=request.organization, public_id=request_id).first()
    if access_request is None:
        raise Http404("No such access request.")
    return access_request


def _access_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    organization = request.organization
    requests = list(AccessRequest.objects.filter(organization=organization).select_related("requested_by")[:20])
    open_request = next((r for r in requests if r.is_open), None)
    return {
        "state": access_state(organization.pk),
        "addon": PlatformAddon.objects.filter(organization=organization).first(),
        "wallet": Wallet.objects.filter(organization=organization).first(),
        "open_request": open_request,
        "latest_request": requests[0] if requests else None,
        "approved_request": next((r for r in requests if r.status == AccessRequest.Status.APPROVED), None),
        "history": [r for r in requests if r is not open_request],
        "qualifying_plans": plan_list(QUALIFYING_PLANS),
        "volume_choices": AccessRequest.Volume.choices,
        "values": {"contact_email": request.user.email},
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view
def access(request: HtmxHttpRequest) -> HttpResponse:
    """Where the organisation stands, and the form owners and admins use to ask for the add-on."""
    if request.method == "GET":
        return render(request, "developer/access.html", _access_context(request))
    require_manager(request)
    values = {name: request.POST.get(name, "") for name in ("intended_use", "expected_monthly_volume", "contact_email")}
    try:
        services.access_request_submit(
            organization=request.organization,
            actor=request.user,
            intended_use=values["intended_use"],
            expected_monthly_volume=values["expected_monthly_volume"],
            contact_email=values["contact_email"],
        )
    except ValidationError as exc:
        return _render_access_form(request, values=values, errors=exc.message_dict, status=400)
    except ServiceError as exc:
        return _render_access_form(request, values=values, error=exc.message, status=exc.status)
    messages.success(
        request,
        f"Request sent. Our team will review it and e-mail {values['contact_email'].strip()} with the decision.",
    )
    # A full page load, not a swap: the banner on top changes too.
    return client_redirect(request, reverse("developer:access"))


def _render_access_form(
    request: HtmxHttpRequest,
    *,
    values: dict[str, str],
    status: int,
    errors: dict[str, list[str]] | None = None,
    error: str = "",
) -> HttpResponse:
    context = _access_context(request, values=values, errors=errors or {}, error=error)
    if request.htmx:
        # app.js swaps 400/409 answers in (not 402): a refused request re-renders as a 409 form with the reason.
        return render(request, "developer/access.html#request-form", context, status=400 if errors else 409)
    if error:
        # The page may show the pending request or the subscription notice instead of the form.
        messages.error(request, error)
    return render(request, "developer/access.html", context, status=status)


@require_POST
@dashboard_view
def access_withdraw(request: HtmxHttpRequest, request_id: str) -> HttpResponse:
    require_manager(request)
    access_request = _access_request_for(request, request_id)
    try:
        services.access_request_withdraw(access_request=access_request, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, "Request withdrawn. You can send a new one whenever you are ready.")
    return redirect("developer:access")


# --- sign-in and security: members, roles, two-factor -------------------------------------------------


def _security_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    # The members and their roles moved to the Members page (developer/members.py).
    return {
        "my_totp": has_totp(request.user),
        "is_owner": request.membership.role == Role.OWNER,
        **extra,
    }


def _require_owner(request: HtmxHttpRequest) -> None:
    if request.membership.role != Role.OWNER:
        raise PermissionDenied("Only owners can change this.")


@require_GET
@dashboard_view
def security(request: HtmxHttpRequest) -> HttpResponse:
    """Your own sign-in (two-factor, sessions, password) and, for owners, whether the organisation requires
    two-factor authentication."""
    return render(request, "developer/security.html", _security_context(request))


@require_POST
@dashboard_view
def security_two_factor(request: HtmxHttpRequest) -> HttpResponse:
    _require_owner(request)
    if reauthenticate := require_recent_authentication(request):
        return reauthenticate  # turning it off weakens every member's sign-in
    required = request.POST.get("required") == "true"
    if required and not has_totp(request.user):
        messages.error(request, "Set up two-factor authentication for yourself before requiring it of everyone.")
        return redirect("developer:security")
    accounts_services.organization_two_factor_set(
        organization=request.organization, required=required, actor=request.user
    )
    messages.success(
        request,
        "Every member now needs an authenticator app to use Settings → Developer."
        if required
        else "Two-factor authentication is now optional for members.",
    )
    return redirect("developer:security")
