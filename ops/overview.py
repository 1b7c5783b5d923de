"""What the staff operations page shows: read-only queries over every organisation (staff only)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from billing.models import FlushBatch
from webhooks.delivery import AUTO_DISABLE_AFTER
from webhooks.models import Delivery, Endpoint

from . import collectors, heartbeat
from .models import Alert

ROWS = 50
HEARTBEAT_STALE_SECONDS = 60


@dataclass(frozen=True)
class Heartbeat:
    name: str
    at: datetime
    age_seconds: float

    @property
    def stale(self) -> bool:
        return self.age_seconds > HEARTBEAT_STALE_SECONDS


def backlog_by_organization(now: datetime) -> list[dict[str, Any]]:
    """Organisations with pending or held deliveries, the latest due one first."""
    rows: Any = (
        Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.HELD])
        .values("organization_id", "organization__name", "organization__public_id")
        .annotate(
            pending=Count("id", filter=Q(status=Delivery.Status.PENDING)),
            due=Count("id", filter=Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)),
            oldest_due=Min("next_attempt_at", filter=Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)),
            held=Count("id", filter=Q(status=Delivery.Status.HELD)),
            oldest_held=Min("held_since", filter=Q(status=Delivery.Status.HELD)),
        )
        .order_by(F("oldest_due").asc(nulls_last=True), "-pending")[:ROWS]
    )
    return list(rows)


def failing_endpoints() -> list[dict[str, Any]]:
    rows = list(
        Endpoint.objects.filter(enabled=True, failing_since__isnull=False)
        .select_related("organization")
        .order_by("failing_since")[:ROWS]
    )
    return [
        {"endpoint": e, "disables_at": e.failing_since + AUTO_DISABLE_AFTER if e.failing_since else None} for e in rows
    ]


def recently_disabled(now: datetime) -> list[Endpoint]:
    return list(
        Endpoint.objects.filter(enabled=False, disabled_at__gte=now - timedelta(days=7))
        .select_related("organization")
        .order_by("-disabled_at")[:ROWS]
    )


def heartbeats(now: float | None = None) -> list[Heartbeat]:
    now = time.time() if now is None else now
    return [
        Heartbeat(name, datetime.fromtimestamp(at, tz=timezone.get_current_timezone()), max(now - at, 0.0))
        for name, at in sorted(heartbeat.heartbeats().items())
    ]


def queue_lengths() -> dict[str, int] | None:
    try:
        (family,) = list(collectors.queues())
    except Exception:
        return None  # the broker is unreachable: the page says so
    return {sample.labels["queue"]: int(sample.value) for sample in family.samples}


def overview(now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    last_flush = heartbeat.last_flush()
    return {
        "now": now,
        "backlog": backlog_by_organization(now),
        "totals": Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.HELD]).aggregate(
            pending=Count("id", filter=Q(status=Delivery.Status.PENDING)),
            due=Count("id", filter=Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)),
            held=Count("id", filter=Q(status=Delivery.Status.HELD)),
        ),
        "failing": failing_endpoints(),
        "disabled": recently_disabled(now),
        "last_flush": datetime.fromtimestamp(last_flush, tz=timezone.get_current_timezone()) if last_flush else None,
        "last_flush_batch": FlushBatch.objects.aggregate(at=Max("created_at"))["at"],
        "heartbeats": heartbeats(),
        "queues": queue_lengths(),
        "open_alerts": list(
            Alert.objects.filter(cleared_at__isnull=True).values("kind").annotate(n=Count("id")).order_by("kind")
        ),
    }
