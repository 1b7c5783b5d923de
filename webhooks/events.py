"""The transactional outbox: ``emit`` is how every service announces a change.

Call it inside the transaction that made the change. It writes the ``Event`` and one ``Delivery``
per enabled endpoint subscribed to the type; the deliveries are enqueued only after that
transaction commits, so a rolled-back change is never announced, and the beat sweep re-enqueues
anything the broker loses.

The payload is exactly ``{id, type, createdAt, businessId, data, livemode}``: the five fields of
the public contract plus ``livemode`` (``false`` for events caused through a test key or test
data), the same flag Stripe's receivers already know. Test-mode events reach the same endpoints,
flagged in the body and in the ``X-AIP-Mode`` header, and are never billed or held. An endpoint
limited to one mode (``Endpoint.modes``) gets no delivery of an event of the other.

``caused_by`` names what caused the event (billing.attribution): the key whose request did, the
dashboard, or the system (the default: calls, texts and the simulator). Its delivery attempts, the
retries included, are metered under it.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization
from billing.attribution import SYSTEM, Attribution
from billing.models import Wallet
from core import fastcache
from core.ids import new_public_id
from core.sql import prepared_cursor
from core.timefmt import iso

from .dispatch import enqueue_fanout
from .models import Delivery, Endpoint, Event

EVENT_TYPES: dict[str, str] = {
    "call.started": "An inbound call begins.",
    "call.completed": "A call ends and post-call processing finishes (incl. summary).",
    "transcript.ready": "The transcript is available.",
    "sms.received": "An inbound text arrives.",
    "sms.sent": "An outbound text is sent.",
    "voicemail.created": "A voicemail is recorded.",
    "contact.created": "A contact is created.",
    "contact.updated": "A contact is meaningfully changed.",
    "appointment.booked": "An appointment is booked.",
    # Additions beside the spec's nine (issue 18).
    "sms.status_updated": "An outbound text's delivery status moves (sent, delivered, failed, undelivered).",
    "contact.deleted": "A contact is erased (`DELETE /contacts/{id}`); the payload carries its id only.",
}
# Sent only by "Send test event"; not subscribable and never emitted by a service.
TEST_EVENT_TYPE = "webhook.test"
MODES = ("live", "test")

logger = logging.getLogger(__name__)

# How long the event log's wake-up value (event_signal_key) is kept after the last event.
EVENT_SIGNAL_SECONDS = 3600


def render_body(*, event: Event, organization: Organization, data: dict[str, Any]) -> str:
    """The exact JSON text sent for ``event``; stored once so every retry sends the same bytes."""
    payload = {
        "id": event.public_id,
        "type": event.type,
        "createdAt": iso(event.created_at),
        "businessId": organization.public_id,
        "data": data,
        "livemode": event.mode == "live",
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def emit(
    *, organization: Organization, type: str, data: dict[str, Any], mode: str, caused_by: Attribution = SYSTEM
) -> Event:
    """Record an event and its deliveries in the caller's transaction; deliver after commit."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {type!r}; expected one of {', '.join(EVENT_TYPES)}")
    if mode not in MODES:
        raise ValueError(f"mode must be 'live' or 'test', not {mode!r}")
    if not isinstance(data, dict):
        raise ValueError("data must be a dict")

    if connection.vendor == "postgresql":
        # It announces the event after the commit itself (with its turn's flag, in one round trip).
        return _emit_on_postgresql(organization=organization, type=type, data=data, mode=mode, caused_by=caused_by)
    with transaction.atomic():
        event = _create_event(organization=organization, type=type, data=data, mode=mode, caused_by=caused_by)
        endpoints = [
            e
            for e in Endpoint.objects.filter(organization=organization, enabled=True)
            if e.subscribes_to(type) and e.receives_mode(mode)
        ]
        if endpoints:
            deliveries_create(event=event, endpoints=endpoints)
    organization_id = organization.pk
    transaction.on_commit(lambda: announce_events(organization_id, mode))
    return event


# The endpoints an event goes to: those of its organisation that are enabled, subscribed to its type
# (or "*") and receive its mode; the SQL twin of Endpoint.subscribes_to and Endpoint.receives_mode.
_SUBSCRIBED_SQL = """
    SELECT "id" FROM "webhooks_endpoint"
    WHERE "organization_id" = %s AND "enabled" AND ("events" ? '*' OR "events" ? %s) AND "modes" ? %s
    ORDER BY "id"
"""

# The event, the state its deliveries start in (delivery_initial_state's rule) and the deliveries, in one
# statement: atomic without a transaction or savepoint of its own, and one round trip instead of six.
_EVENT_SQL = """
    INSERT INTO "webhooks_event"
        ("public_id", "organization_id", "type", "mode", "api_key_id", "source", "body", "created_at")
    VALUES (%(public_id)s, %(organization_id)s, %(type)s, %(mode)s, %(api_key_id)s, %(source)s, %(body)s, %(now)s)
"""
_EMIT_SQL = (
    """
    WITH "event" AS ("""
    + _EVENT_SQL
    + """ RETURNING "id"
    ), "state" AS (
        SELECT CASE WHEN %(live)s AND (
            NOT COALESCE((SELECT "balance" > 0 FROM "billing_wallet" WHERE "organization_id" = %(organization_id)s), FALSE)
            OR EXISTS (
                SELECT 1 FROM "webhooks_delivery" WHERE "organization_id" = %(organization_id)s AND "status" = 'held'
            )
        ) THEN 'held' ELSE 'pending' END AS "status"
    ), "deliveries" AS (
        INSERT INTO "webhooks_delivery"
            ("public_id", "organization_id", "endpoint_id", "event_id", "api_key_id", "source", "status",
             "status_reason", "attempt_count", "next_attempt_at", "queued_at", "held_since", "created_at")
        SELECT "d"."public_id", %(organization_id)s, "d"."endpoint_id", "event"."id", %(api_key_id)s, %(source)s,
               "state"."status", '', 0,
               CASE WHEN "state"."status" = 'pending' THEN %(now)s END,
               CASE WHEN "state"."status" = 'pending' THEN %(now)s END,
               CASE WHEN "state"."status" = 'held' THEN %(now)s END,
               %(now)s
        FROM "event", "state", (VALUES {rows}) AS "d" ("public_id", "endpoint_id")
    )
    SELECT "event"."id", "state"."status" FROM "event", "state"
"""
)


def _emit_on_postgresql(
    *, organization: Organization, type: str, data: dict[str, Any], mode: str, caused_by: Attribution
) -> Event:
    """``emit`` on PostgreSQL: the subscribed endpoints, then the event and its deliveries in one statement,
    written without the ORM (every change of the application comes through here, so its CPU counts).
    The rules are those of the ORM path in ``emit``, which SQLite takes."""
    event = _new_event(organization=organization, type=type, data=data, mode=mode, caused_by=caused_by)
    now = event.created_at
    with prepared_cursor(connection) as cursor:
        cursor.execute(_SUBSCRIBED_SQL, [organization.pk, type, mode])
        endpoint_ids = [row[0] for row in cursor.fetchall()]
        params = {
            "public_id": event.public_id,
            "organization_id": organization.pk,
            "type": type,
            "mode": mode,
            "api_key_id": event.api_key_id,
            "source": event.source,
            "body": Event._meta.get_field("body").get_db_prep_save(event.body, connection),
            "now": now,
        }
        pending = False
        if not endpoint_ids:
            cursor.execute(_EVENT_SQL + ' RETURNING "id"', params)
            (event.pk,) = cursor.fetchone()
        else:
            rows = []
            for n, endpoint_id in enumerate(endpoint_ids):
                params[f"d{n}"], params[f"e{n}"] = new_public_id("del"), endpoint_id
                rows.append(f"(%(d{n})s, %(e{n})s)")
            # delivery_initial_state's rule: a live event of an organisation whose wallet is empty or that
            # has held deliveries is held. The wallet's row is read in the statement, not the gate's cached
            # state: one round trip fewer, and never a stale "no credits" cached across a top-up.
            params["live"] = event.is_live
            cursor.execute(_EMIT_SQL.format(rows=", ".join(rows)), params)
            event.pk, status = cursor.fetchone()
            pending = status == Delivery.Status.PENDING
    organization_id = organization.pk
    if pending:
        # The event log's wake-up rides on the turn flag's round trip: one Redis call per event, not two.
        signal = (event_signal_key(organization_id, mode), time.time_ns(), EVENT_SIGNAL_SECONDS)
        transaction.on_commit(lambda: enqueue_fanout(organization_id=organization_id, also_set=signal))
    else:
        transaction.on_commit(lambda: announce_events(organization_id, mode))
    event._state.adding, event._state.db = False, connection.alias
    return event


def event_signal_key(organization_id: int, mode: str) -> str:
    """The shared-cache key whose value changes when (organisation, mode) has a new event (event_log)."""
    return f"aip:events:signal:{organization_id}:{mode}"


def announce_events(organization_id: int, mode: str) -> None:
    """Wake the event log's long polls of (organisation, mode): run after the commit that made an event.

    Through core.fastcache's long-lived Redis client: Django's RedisCache builds a client per call, which
    cost more than the write itself on every event."""
    try:
        fastcache.set(event_signal_key(organization_id, mode), time.time_ns(), EVENT_SIGNAL_SECONDS)
    except Exception:  # never fail a committed change for a wake-up; the long polls recheck anyway
        logger.warning("event signal not written", exc_info=True)


def _new_event(
    *, organization: Organization, type: str, data: dict[str, Any], mode: str, caused_by: Attribution
) -> Event:
    """The event, not yet saved, with the body every delivery of it will send."""
    event = Event(
        organization=organization,
        type=type,
        mode=mode,
        api_key_id=caused_by.api_key_id,
        source=caused_by.source,
        created_at=timezone.now(),
    )
    event.body = render_body(event=event, organization=organization, data=data)
    return event


def _create_event(
    *, organization: Organization, type: str, data: dict[str, Any], mode: str, caused_by: Attribution
) -> Event:
    event = _new_event(organization=organization, type=type, data=data, mode=mode, caused_by=caused_by)
    event.save()
    return event


def delivery_initial_state(*, event: Event, now: datetime) -> tuple[str, datetime | None]:
    """A live event of an organisation that cannot pay waits as held; everything else goes out.

    So does a live event of an organisation that still has held deliveries (a partial top-up paid for only
    some): it queues behind them, so each endpoint still gets its events in order, and only a release, which
    counts what the balance pays for, sends it. Sent at once, it would spend money the release had promised
    to older deliveries and take the wallet below zero (issue 21).

    "Cannot pay" is read from the wallet's row (AccessState.has_credits' rule), not the gate's cached state,
    which a reader racing a top-up may have cached as empty after the top-up dropped it.
    """
    if event.is_live and (
        not Wallet.objects.filter(organization_id=event.organization_id, balance__gt=0).exists()
        or Delivery.objects.filter(organization_id=event.organization_id, status=Delivery.Status.HELD).exists()
    ):
        return Delivery.Status.HELD, now
    return Delivery.Status.PENDING, None


def deliveries_create(
    *,
    event: Event,
    endpoints: list[Endpoint],
    replay_of: Delivery | None = None,
    caused_by: Attribution | None = None,
) -> list[Delivery]:
    """Write one pending (or held) delivery of ``event`` per endpoint and enqueue them after commit.

    Its attempts are metered under ``caused_by``: the event's cause unless given (a replay is the
    replaying key's, or the dashboard's)."""
    caused_by = caused_by or event.caused_by
    now = timezone.now()
    status, held_since = delivery_initial_state(event=event, now=now)
    deliveries = [
        Delivery(
            organization_id=event.organization_id,
            endpoint=endpoint,
            event=event,
            replay_of=replay_of,
            api_key_id=caused_by.api_key_id,
            source=caused_by.source,
            status=status,
            held_since=held_since,
            next_attempt_at=now if status == Delivery.Status.PENDING else None,
            queued_at=now if status == Delivery.Status.PENDING else None,
            created_at=now,
        )
        for endpoint in endpoints
    ]
    Delivery.objects.bulk_create(deliveries)
    if status == Delivery.Status.PENDING:
        organization_id = event.organization_id
        transaction.on_commit(lambda: enqueue_fanout(organization_id=organization_id))
    return deliveries
