"""Settings → Developer → Webhooks: endpoints, health, secrets, test sends and the delivery log.

Every action calls the same service as the public API (`webhooks.services`) with the signed-in
user as the actor. Pages work as plain links and forms; with htmx the same views answer with a
named partial of the page's template (dialogs, the inline test result, the live delivery log).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from accounts.signin import require_recent_authentication
from core import rotation
from core.errors import ServiceError
from developer.dashboard import (
    HtmxHttpRequest,
    client_redirect,
    dashboard_view,
    form_token_used,
    keyset_page,
    new_form_token,
    no_store,
    page_or_partial,
    remember_form_token,
    require_manager,
    viewing_mode,
)

from . import services
from .delivery import max_in_flight
from .events import EVENT_TYPES, TEST_EVENT_TYPE
from .models import Delivery, Endpoint

DELIVERY_PAGE_SIZE = 25
# The form's "Events from" radio: its value → the endpoint's modes. An unknown value goes to the
# service as is, which refuses it by name.
MODE_CHOICES: dict[str, tuple[str, list[str]]] = {
    "both": ("Live and test", ["live", "test"]),
    "live": ("Live only", ["live"]),
    "test": ("Test only", ["test"]),
}
RECOVER_WINDOWS: dict[str, tuple[str, timedelta]] = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "3d": ("Last 3 days", timedelta(days=3)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
# Forms already used to create an endpoint in this session: a reload must not create another.
_USED_FORMS_SESSION_KEY = "webhooks_used_forms"


def _endpoint_for(request: HtmxHttpRequest, webhook_id: str) -> Endpoint:
    """The endpoint with this public id in the acting organisation, or 404 (another business's too)."""
    endpoint = Endpoint.objects.filter(organization=request.organization, public_id=webhook_id).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def _delivery_for(endpoint: Endpoint, delivery_id: str) -> Delivery:
    delivery = (
        Delivery.objects.filter(endpoint=endpoint, public_id=delivery_id)
        .select_related("event", "endpoint", "replay_of")
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


# --- endpoints list ----------------------------------------------------------------------------------


@require_GET
@dashboard_view
def endpoints(request: HtmxHttpRequest) -> HttpResponse:
    rows = list(Endpoint.objects.filter(organization=request.organization))
    health = services.endpoints_health(rows)
    context = {
        "rows": [(e, health[e.pk], services.disable_deadline(e)) for e in rows],
        "event_types": EVENT_TYPES,
    }
    if request.htmx and request.htmx.target == "endpoint-table":
        return render(request, "webhooks/endpoints.html#endpoint-table", context)
    return render(request, "webhooks/endpoints.html", context)


# --- create / edit -----------------------------------------------------------------------------------


def _form_values(request: HtmxHttpRequest) -> dict[str, Any]:
    events = request.POST.getlist("events")
    return {
        "url": request.POST.get("url", ""),
        "description": request.POST.get("description", ""),
        "events": ["*"] if request.POST.get("all_events") == "on" else events,
        "all_events": request.POST.get("all_events") == "on",
        "modes_choice": request.POST.get("modes", "both"),
        "form_token": request.POST.get("form_token", ""),
    }


def _form_modes(values: dict[str, Any]) -> list[str]:
    choice = values["modes_choice"]
    return MODE_CHOICES[choice][1] if choice in MODE_CHOICES else [choice]


def _form_context(
    *, endpoint: Endpoint | None, values: dict[str, Any], errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "values": values,
        "errors": errors or {},
        "event_types": EVENT_TYPES,
        "mode_choices": [(value, label) for value, (label, _) in MODE_CHOICES.items()],
    }


@require_http_methods(["GET", "POST"])
@dashboard_view
def endpoint_create(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    template = page_or_partial(request, "webhooks/endpoint_form.html", "endpoint-form")
    if request.method == "GET":
        values: dict[str, Any] = {
            "url": "",
            "description": "",
            "events": [],
            "all_events": False,
            "modes_choice": "both",
            "form_token": new_form_token(),
        }
        return render(request, template, _form_context(endpoint=None, values=values))

    values = _form_values(request)
    token = values["form_token"]
    if form_token_used(request, _USED_FORMS_SESSION_KEY, token):
        messages.info(request, "That endpoint was already created; its secret can be revealed on its page.")
        return client_redirect(request, reverse("webhooks:endpoints"))
    try:
        endpoint, secret = services.endpoint_create(
            organization=request.organization,
            url=values["url"],
            events=values["events"],
            modes=_form_modes(values),
            description=values["description"],
            actor=request.user,
        )
    except (ValidationError, ServiceError) as exc:
        errors = exc.message_dict if isinstance(exc, ValidationError) else {"form": [exc.message]}
        return render(request, template, _form_context(endpoint=None, values=values, errors=errors), status=400)
    remember_form_token(request, _USED_FORMS_SESSION_KEY, token)
    context = {"endpoint": endpoint, "secret": secret, "created": True}
    response = render(request, page_or_partial(request, "webhooks/secret.html", "secret-panel"), context, status=201)
    no_store(response)
    if request.htmx:
        trigger_client_event(response, "endpoints-changed")
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def endpoint_edit(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    template = page_or_partial(request, "webhooks/endpoint_form.html", "endpoint-form")
    if request.method == "GET":
        values = {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "all_events": endpoint.events == ["*"],
            "modes_choice": endpoint.modes_choice,
        }
        return render(request, template, _form_context(endpoint=endpoint, values=values))
    values = _form_values(request)
    try:
        services.endpoint_update(
            endpoint=endpoint,
            url=values["url"],
            events=values["events"],
            modes=_form_modes(values),
            description=values["description"],
            actor=request.user,
        )
    except ValidationError as exc:
        return render(
            request, template, _form_context(endpoint=endpoint, values=values, errors=exc.message_dict), status=400
        )
    messages.success(request, "Endpoint saved.")
    detail = reverse("webhooks:endpoint", args=[endpoint.public_id])
    return client_redirect(request, detail)


# --- one endpoint: health, actions and the delivery log ----------------------------------------------


def _log_filters(request: HtmxHttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in ("status", "event_type", "date_from", "date_to")}


def _filtered_deliveries(endpoint: Endpoint, filters: dict[str, str]) -> Any:
    deliveries = Delivery.objects.filter(endpoint=endpoint).select_related("event", "replay_of")
    if filters["status"] in Delivery.Status.values:
        deliveries = deliveries.filter(status=filters["status"])
    if filters["event_type"] in (*EVENT_TYPES, TEST_EVENT_TYPE):
        deliveries = deliveries.filter(event__type=filters["event_type"])
    zone = timezone.get_current_timezone()
    start, end = parse_date(filters["date_from"] or ""), parse_date(filters["date_to"] or "")
    if start:
        deliveries = deliveries.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end:
        deliveries = deliveries.filter(created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    return deliveries


def _detail_context(request: HtmxHttpRequest, endpoint: Endpoint, **extra: Any) -> dict[str, Any]:
    filters = _log_filters(request)
    page = keyset_page(
        # Endpoints are shared by both modes; their delivery log follows "Viewing test data". The
        # "Send test event" pings belong to neither mode's data and show in both.
        _filtered_deliveries(endpoint, filters).filter(
            Q(event__mode=viewing_mode(request)) | Q(event__type=TEST_EVENT_TYPE)
        ),
        cursor=request.GET.get("cursor"),
        limit=DELIVERY_PAGE_SIZE,
    )
    query = {k: v for k, v in filters.items() if v}
    return {
        "endpoint": endpoint,
        "health": services.endpoints_health([endpoint])[endpoint.pk],
        "max_in_flight": max_in_flight(),
        "disables_at": services.disable_deadline(endpoint),
        "page": page,
        "filters": filters,
        "filters_active": bool(query),
        "filter_query": urlencode(query),
        "next_query": urlencode({**query, "cursor": page.next_cursor}) if page.next_cursor else "",
        "statuses": Delivery.Status.choices,
        "event_types": [*EVENT_TYPES, TEST_EVENT_TYPE],
        "recover_windows": RECOVER_WINDOWS,
        "overlaps": rotation.LABELS,
        "now": timezone.now(),
        **extra,
    }


@require_GET
@dashboard_view
def endpoint_detail(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    endpoint = _endpoint_for(request, webhook_id)
    context = _detail_context(request, endpoint)
    if request.htmx and request.htmx.target == "delivery-log":
        return render(request, "webhooks/endpoint_detail.html#delivery-log", context)
    if request.htmx and request.htmx.target == "delivery-more":
        return render(request, "webhooks/endpoint_detail.html#delivery-rows", context)
    if request.htmx and request.htmx.target == "endpoint-health":
        return render(request, "webhooks/endpoint_detail.html#endpoint-health", context)
    return render(request, "webhooks/endpoint_detail.html", context)


@require_POST
@dashboard_view
def endpoint_test(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    delivery = services.endpoint_send_test(endpoint=endpoint, actor=request.user)
    attempt = delivery.attempts.order_by("-number").first()
    if request.htmx:
        response = render(
            request,
            "webhooks/endpoint_detail.html#test-result",
            {"endpoint": endpoint, "test_delivery": delivery, "test_attempt": attempt},
        )
        trigger_client_event(response, "deliveries-changed")
        return response
    if delivery.status == Delivery.Status.SUCCEEDED:
        assert attempt is not None  # a delivery succeeds by one of its attempts
        messages.success(request, f"Test event delivered: the endpoint answered {attempt.response_status}.")
    else:
        messages.error(request, f"Test event failed: {delivery.status_reason}")
    return redirect("webhooks:endpoint", webhook_id=endpoint.public_id)


@require_POST
@dashboard_view
def endpoint_reveal_secret(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    if reauthenticate := require_recent_authentication(request):
        return reauthenticate  # whoever holds the secret can sign events: confirm the password first
    secret = services.endpoint_reveal_secret(endpoint=endpoint, actor=request.user)
    response = render(
        request,
        page_or_partial(request, "webhooks/secret.html", "secret-panel"),
        {"endpoint": endpoint, "secret": secret, "revealed": True},
    )
    no_store(response)
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def endpoint_rotate(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    if reauthenticate := require_recent_authentication(request):
        return reauthenticate  # a new secret signs events as well as the old one
    template = page_or_partial(request, "webhooks/actions.html", "rotate-form")
    overlap = request.POST.get("overlap", rotation.DEFAULT)
    if request.method == "GET":
        return render(request, template, {"endpoint": endpoint, "overlaps": rotation.LABELS, "overlap": overlap})
    try:
        endpoint, secret = services.endpoint_rotate_secret(endpoint=endpoint, overlap=overlap, actor=request.user)
    except ValidationError:
        return render(
            request,
            template,
            {
                "endpoint": endpoint,
                "overlaps": rotation.LABELS,
                "overlap": overlap,
                "error": "Choose how long the old secret keeps signing.",
            },
            status=400,
        )
    response = render(
        request,
        page_or_partial(request, "webhooks/secret.html", "secret-panel"),
        {"endpoint": endpoint, "secret": secret, "rotated": True},
    )
    no_store(response)
    return response


@require_POST
@dashboard_view
def endpoint_toggle(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    enable = request.POST.get("enabled") == "true"
    services.endpoint_update(endpoint=endpoint, enabled=enable, actor=request.user)
    messages.success(request, "Endpoint enabled." if enable else "Endpoint disabled; nothing is sent to it now.")
    detail = reverse("webhooks:endpoint", args=[endpoint.public_id])
    return client_redirect(request, detail)


@require_http_methods(["GET", "POST"])
@dashboard_view
def endpoint_delete(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    if request.method == "GET":
        return render(request, page_or_partial(request, "webhooks/actions.html", "delete-form"), {"endpoint": endpoint})
    url = endpoint.url
    services.endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, f"Deleted the endpoint {url}.")
    listing = reverse("webhooks:endpoints")
    return client_redirect(request, listing)


@require_http_methods(["GET", "POST"])
@dashboard_view
def endpoint_recover(request: HtmxHttpRequest, webhook_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    template = page_or_partial(request, "webhooks/actions.html", "recover-form")
    window = request.POST.get("window", "24h")
    context = {"endpoint": endpoint, "windows": RECOVER_WINDOWS, "window": window}
    if request.method == "GET":
        return render(request, template, context)
    if window not in RECOVER_WINDOWS:
        return render(request, template, {**context, "error": "Choose how far back to recover."}, status=400)
    try:
        replays = services.endpoint_recover(
            endpoint=endpoint, since=timezone.now() - RECOVER_WINDOWS[window][1], actor=request.user
        )
    except ServiceError as exc:
        return render(request, template, {**context, "error": exc.message}, status=exc.status)
    messages.success(request, f"Re-sending {len(replays)} failed deliver{'y' if len(replays) == 1 else 'ies'}.")
    detail = reverse("webhooks:endpoint", args=[endpoint.public_id])
    return client_redirect(request, detail)


# --- one delivery ------------------------------------------------------------------------------------


@require_GET
@dashboard_view
def delivery_detail(request: HtmxHttpRequest, webhook_id: str, delivery_id: str) -> HttpResponse:
    endpoint = _endpoint_for(request, webhook_id)
    delivery = _delivery_for(endpoint, delivery_id)
    attempts = list(delivery.attempts.order_by("-number", "-id"))
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "endpoint": endpoint,
            "delivery": delivery,
            "attempts": attempts,
            # Waiting for a worker and waiting for the endpoint, apart (the backoff between attempts is neither).
            "time_queued_ms": sum(a.queued_ms or 0 for a in attempts),
            "time_sending_ms": sum(a.duration_ms or 0 for a in attempts),
            "replays": delivery.replays.order_by("-created_at"),
        },
    )


@require_POST
@dashboard_view
def delivery_replay(request: HtmxHttpRequest, webhook_id: str, delivery_id: str) -> HttpResponse:
    require_manager(request)
    endpoint = _endpoint_for(request, webhook_id)
    delivery = _delivery_for(endpoint, delivery_id)
    try:
        replay = services.delivery_replay(delivery=delivery, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        target = reverse("webhooks:delivery", args=[endpoint.public_id, delivery.public_id])
    else:
        messages.success(request, f"Replaying {delivery.event.public_id} as a new delivery.")
        target = reverse("webhooks:delivery", args=[endpoint.public_id, replay.public_id])
    return client_redirect(request, target)
