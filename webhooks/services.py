"""Webhook endpoints, test sends, replay, recover and endpoint health.

The delivery engine (claiming, sending, recording attempts, holds, the sweep and pruning) is
`webhooks/delivery.py`.

The public API, the dashboard, the admin and the Celery tasks all call these functions, so
validation, auditing and metering are the same whichever door is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Aggregate, Count, IntegerField, Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_record
from billing.attribution import attribution_of
from core import crypto, outbound, rotation
from core.errors import ServiceError
from core.signing import generate_secret
from core.timefmt import iso

from .delivery import AUTO_DISABLE_AFTER, delivery_attempt, endpoint_disable
from .events import (
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    deliveries_create,
    render_body,
)
from .models import ALL_MODES, Attempt, Delivery, Endpoint, Event

if TYPE_CHECKING:
    from accounts.services import Actor

MAX_ENDPOINTS_PER_ORGANIZATION = 20
_UNSET: Any = object()


# ---------------------------------------------------------------------------------------------
# Endpoints


def _clean_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({"url": ["Give the public https URL that should receive events."]})
    url = url.strip()
    if len(url) > outbound.MAX_URL_LENGTH:
        raise ValidationError({"url": [f"At most {outbound.MAX_URL_LENGTH} characters."]})
    try:
        outbound.validate_url(url)
    except outbound.OutboundRefused as exc:
        raise ValidationError({"url": [exc.reason]}) from None
    return url


def clean_events(events: object) -> list[str]:
    """A non-empty list of known types, or exactly ``["*"]``; returned deduplicated in spec order."""
    valid = ", ".join(EVENT_TYPES)
    if not isinstance(events, (list, tuple)) or not events:
        raise ValidationError({"events": [f'Give a non-empty list of event types ({valid}) or ["*"].']})
    if not all(isinstance(e, str) for e in events):
        raise ValidationError({"events": ["Every event type must be a string."]})
    if "*" in events:
        if len(set(events)) != 1:
            raise ValidationError({"events": ['"*" subscribes to every type; send it alone.']})
        return ["*"]
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise ValidationError({"events": [f"Unknown event type(s): {', '.join(unknown)}. Valid types: {valid}."]})
    return [e for e in EVENT_TYPES if e in events]


def clean_modes(modes: object) -> list[str]:
    """Which events the endpoint receives: a non-empty list of "live" and/or "test", each once."""
    if not isinstance(modes, (list, tuple)) or not modes:
        raise ValidationError({"modes": ['Give ["live"], ["test"] or ["live", "test"] (every event).']})
    if not all(isinstance(m, str) and m in ALL_MODES for m in modes):
        raise ValidationError({"modes": ['Each mode must be "live" or "test".']})
    if len(set(modes)) != len(modes):
        raise ValidationError({"modes": ["Give each mode once."]})
    return [m for m in ALL_MODES if m in modes]


def _clean_description(description: object) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise ValidationError({"description": ["Must be a string."]})
    if len(description.strip()) > 500:
        raise ValidationError({"description": ["At most 500 characters."]})
    return description.strip()


def _collect(**checks: Any) -> dict[str, Any]:
    """Run each cleaner, reporting every bad field at once rather than the first."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, (cleaner, value) in checks.items():
        try:
            cleaned[name] = cleaner(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def endpoint_create(
    *,
    organization: Organization,
    url: object,
    events: object,
    description: object = None,
    modes: object = _UNSET,
    actor: Actor,
) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it with its ``whsec_`` secret, which is shown only this once.

    ``modes`` limits it to live or test events; by default it receives both."""
    cleaned = _collect(
        url=(_clean_url, url),
        events=(clean_events, events),
        description=(_clean_description, description),
        modes=(clean_modes, list(ALL_MODES) if modes is _UNSET else modes),
    )
    # Lock the organisation row so two concurrent creates cannot both pass the limit.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if Endpoint.objects.filter(organization=organization).count() >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise ServiceError(
            f"An organization can have at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints; "
            "delete one you no longer use."
        )
    secret = generate_secret()
    endpoint = Endpoint.objects.create(
        organization=organization,
        url=cleaned["url"],
        events=cleaned["events"],
        modes=cleaned["modes"],
        description=cleaned["description"],
        secret_encrypted=crypto.encrypt(secret),
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="webhook.created",
        target=endpoint,
        metadata={"url": endpoint.url, "events": endpoint.events, "modes": endpoint.modes},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *,
    endpoint: Endpoint,
    actor: Actor,
    url: object = _UNSET,
    events: object = _UNSET,
    description: object = _UNSET,
    enabled: object = _UNSET,
    modes: object = _UNSET,
) -> Endpoint:
    """Change any of url, events, modes, description, enabled. Re-enabling clears the failure record.

    A changed ``modes`` decides which events are delivered from now on; deliveries already made keep going."""
    checks: dict[str, Any] = {}
    if url is not _UNSET:
        checks["url"] = (_clean_url, url)
    if events is not _UNSET:
        checks["events"] = (clean_events, events)
    if modes is not _UNSET:
        checks["modes"] = (clean_modes, modes)
    if description is not _UNSET:
        checks["description"] = (_clean_description, description)
    if enabled is not _UNSET:
        checks["enabled"] = (_clean_enabled, enabled)
    cleaned = _collect(**checks)

    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    changes: dict[str, Any] = {}
    for field in ("url", "events", "modes", "description"):
        if field in cleaned and cleaned[field] != getattr(endpoint, field):
            changes[field] = cleaned[field]
            setattr(endpoint, field, cleaned[field])
    if "enabled" in cleaned and cleaned["enabled"] != endpoint.enabled:
        changes["enabled"] = cleaned["enabled"]
        if cleaned["enabled"]:
            endpoint.enabled = True
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
            endpoint.failing_since = None  # a fresh start: five more days before auto-disable
        else:
            endpoint_disable(endpoint, reason="Disabled by a user.", now=timezone.now())
    if changes:
        endpoint.save()
        audit_record(
            organization=endpoint.organization,
            actor=actor,
            action="webhook.updated",
            target=endpoint,
            metadata={"changes": list(changes)},
        )
    return endpoint


def _clean_enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError({"enabled": ["Must be true or false."]})
    return value


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint, actor: Actor) -> None:
    """Delete the endpoint with its delivery history; undelivered events to it are dropped."""
    audit_record(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.deleted",
        target=endpoint,
        metadata={"url": endpoint.url},
    )
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint, overlap: object, actor: Actor) -> tuple[Endpoint, str]:
    """Issue a new secret; the current one keeps signing (alongside) for the ``overlap`` window
    (one of ``core.rotation.WINDOWS``)."""
    window = rotation.window(overlap, field="overlap")
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = generate_secret()
    endpoint.rotate(secret, window=window, now=timezone.now())
    endpoint.save()
    audit_record(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.secret_rotated",
        target=endpoint,
        metadata={"overlap": overlap},
    )
    return endpoint, secret


def endpoint_reveal_secret(*, endpoint: Endpoint, actor: Actor) -> str:
    """The current secret, for an owner or admin in the dashboard; every reveal is audited."""
    audit_record(organization=endpoint.organization, actor=actor, action="webhook.secret_revealed", target=endpoint)
    return endpoint.secret


# ---------------------------------------------------------------------------------------------
# Test sends, replay, recover


def endpoint_send_test(*, endpoint: Endpoint, actor: Actor) -> Delivery:
    """Send a ``webhook.test`` event now, outside the queue, and return the delivery with its attempt.

    Test sends are test mode (flagged, never billed, never held) and are not retried. They go out
    whatever the endpoint's ``modes``: the button checks the receiver, it is not a fan-out.
    """
    caused_by = attribution_of(actor)
    with transaction.atomic():
        now = timezone.now()
        event = Event(
            organization=endpoint.organization,
            type=TEST_EVENT_TYPE,
            mode="test",
            api_key_id=caused_by.api_key_id,
            source=caused_by.source,
            created_at=now,
        )
        event.body = render_body(
            event=event,
            organization=endpoint.organization,
            data={
                "message": "A test event sent from AI Phone 360 to check this endpoint.",
                "endpointId": endpoint.public_id,
            },
        )
        event.save()
        delivery = Delivery.objects.create(
            organization=endpoint.organization,
            endpoint=endpoint,
            event=event,
            api_key_id=caused_by.api_key_id,
            source=caused_by.source,
            status=Delivery.Status.PENDING,
            next_attempt_at=now,
            queued_at=now,
            created_at=now,
        )
        audit_record(
            organization=endpoint.organization,
            actor=actor,
            action="webhook.test_sent",
            target=endpoint,
            metadata={"delivery": delivery.public_id},
        )
    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def delivery_replay(*, delivery: Delivery, actor: Actor) -> Delivery:
    """Send the same event (same ``evt_`` id and body) to the same endpoint as a new delivery.

    Its attempts are the replaying actor's usage (a key, or the dashboard). A delivery that exists
    is replayed whatever the endpoint's ``modes`` now say: asking for it is explicit."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise ServiceError(
            "This endpoint is disabled; enable it before replaying deliveries.", code="ENDPOINT_DISABLED", status=409
        )
    (replay,) = deliveries_create(
        event=delivery.event, endpoints=[endpoint], replay_of=delivery, caused_by=attribution_of(actor)
    )
    audit_record(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.delivery_replayed",
        target=endpoint,
        metadata={"delivery": delivery.public_id, "replay": replay.public_id},
    )
    return replay


@transaction.atomic
def endpoint_recover(*, endpoint: Endpoint, since: datetime, actor: Actor) -> list[Delivery]:
    """Re-send every failed delivery to this endpoint created at or after ``since`` (once each)."""
    if not endpoint.enabled:
        raise ServiceError(
            "This endpoint is disabled; enable it before recovering deliveries.", code="ENDPOINT_DISABLED", status=409
        )
    failed = (
        Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.FAILED, created_at__gte=since)
        .exclude(replays__isnull=False)
        .select_related("event")
        .order_by("created_at", "id")
    )
    caused_by = attribution_of(actor)
    replays = [
        deliveries_create(event=delivery.event, endpoints=[endpoint], replay_of=delivery, caused_by=caused_by)[0]
        for delivery in failed
    ]
    audit_record(
        organization=endpoint.organization,
        actor=actor,
        action="webhook.recovered",
        target=endpoint,
        metadata={"since": iso(since), "count": len(replays)},
    )
    return replays


# ---------------------------------------------------------------------------------------------
# Health, for the API and the dashboard


@dataclass(frozen=True)
class EndpointHealth:
    attempts_24h: int
    successes_24h: int
    pending: int = 0  # backlog waiting to be sent (due now or retrying later)
    held: int = 0  # backlog waiting for the wallet
    in_flight: int = 0  # requests under way right now (claimed rows)
    p95_ms_24h: int | None = None  # 95th percentile of the answered attempts' response time

    @property
    def success_rate_24h(self) -> float | None:
        return round(100 * self.successes_24h / self.attempts_24h, 1) if self.attempts_24h else None


def endpoints_health(endpoints: list[Endpoint], *, now: datetime | None = None) -> dict[int, EndpointHealth]:
    """Per endpoint: attempts and successes over 24 h, backlog, requests in flight and p95 response time."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    recent = Attempt.objects.filter(delivery__endpoint__in=endpoints, started_at__gte=since, finished_at__isnull=False)
    rows = recent.values("delivery__endpoint_id").annotate(total=Count("id"), ok=Count("id", filter=Q(succeeded=True)))
    counts = {r["delivery__endpoint_id"]: (r["total"], r["ok"]) for r in rows}
    backlog: dict[tuple[int, str], int] = {
        (r["endpoint_id"], r["status"]): r["n"]
        for r in Delivery.objects.filter(
            endpoint__in=endpoints, status__in=[Delivery.Status.PENDING, Delivery.Status.HELD]
        )
        .values("endpoint_id", "status")
        .annotate(n=Count("id"))
    }
    in_flight = dict(
        Delivery.objects.filter(endpoint__in=endpoints, claimed_until__gt=now)
        .values("endpoint_id")
        .annotate(n=Count("id"))
        .values_list("endpoint_id", "n")
    )
    p95 = _p95_response_ms(recent.filter(duration_ms__isnull=False))
    return {
        e.pk: EndpointHealth(
            *counts.get(e.pk, (0, 0)),
            pending=backlog.get((e.pk, Delivery.Status.PENDING), 0),
            held=backlog.get((e.pk, Delivery.Status.HELD), 0),
            in_flight=in_flight.get(e.pk, 0),
            p95_ms_24h=p95.get(e.pk),
        )
        for e in endpoints
    }


class _Percentile95(Aggregate):
    """PostgreSQL's ordered-set aggregate: the smallest value with 95 % of the rows at or below it."""

    template = "percentile_disc(0.95) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = IntegerField()


def _p95_response_ms(attempts: QuerySet[Attempt]) -> dict[int, int]:
    """The 95th percentile of ``duration_ms`` per endpoint (nearest rank), computed by PostgreSQL when it can."""
    if connection.vendor == "postgresql":
        rows = attempts.values("delivery__endpoint_id").annotate(p95=_Percentile95("duration_ms"))
        return {r["delivery__endpoint_id"]: int(r["p95"]) for r in rows if r["p95"] is not None}
    durations: dict[int, list[int]] = {}
    for endpoint_id, duration_ms in attempts.values_list("delivery__endpoint_id", "duration_ms"):
        if duration_ms is not None:
            durations.setdefault(endpoint_id, []).append(duration_ms)
    result = {}
    for endpoint_id, values in durations.items():
        values.sort()
        result[endpoint_id] = values[max(0, math.ceil(0.95 * len(values)) - 1)]
    return result


def disable_deadline(endpoint: Endpoint) -> datetime | None:
    """When a failing endpoint will be disabled if nothing succeeds before then."""
    return endpoint.failing_since + AUTO_DISABLE_AFTER if endpoint.enabled and endpoint.failing_since else None
