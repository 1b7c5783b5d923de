"""The event log: reading past events (``GET /events``) and waiting for the next one (long poll).

Events are the outbox rows ``emit()`` writes; the log shows those of the last ``RETENTION`` (30 days,
what ``delivery.deliveries_prune`` keeps), of one organisation and one mode, never the
``webhook.test`` pings of "Send test event" (they belong to one endpoint's delivery log).

Consumption without a public URL (``GET /events?after=evt_…``) reads in ascending order after an
event. Two things make that stream safe to follow:

- **Settling.** An event's ``created_at`` is taken inside its transaction, so a slow transaction can
  commit an older event after a newer one was already read. The stream therefore shows an event only
  once it is ``SETTLE`` old (1 s): a reader that advanced past a newer event has not missed an older
  one still in flight (unless its transaction outlived the settle time; ``emit`` runs in short service
  transactions).
- **Waiting cheaply.** A long poll (``wait`` seconds, at most ``MAX_WAIT_SECONDS``) does not hold a
  database connection: it closes it, and checks a per-(organisation, mode) signal in the shared cache
  (Redis in production) every ``POLL_INTERVAL``; ``emit`` bumps the signal after its commit. The database
  is read again when the signal moves, when an unsettled event settles, and every ``RECHECK_SECONDS``
  anyway (a lost signal costs at most that). Each web process runs at most ``EVENTS_MAX_LONG_POLLS``
  waits at once (a gunicorn thread is held by each); past that, a request with ``wait`` is answered at
  once, like one without, and told to come back (``Retry-After: 1``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import fastcache

from .delivery import RETENTION
from .events import TEST_EVENT_TYPE, event_signal_key
from .models import Delivery, Event

logger = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 25
POLL_INTERVAL = 0.25
RECHECK_SECONDS = 5.0
SETTLE = timedelta(seconds=1)

_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def events_of(*, organization_id: int, mode: str, now: datetime | None = None) -> QuerySet[Event]:
    """The organisation's events of one mode still in the log (the last 30 days), pings excluded."""
    now = now or timezone.now()
    return Event.objects.filter(organization_id=organization_id, mode=mode, created_at__gte=now - RETENTION).exclude(
        type=TEST_EVENT_TYPE
    )


def deliveries_of(event: Event) -> list[Delivery]:
    """Each endpoint's deliveries of ``event`` (replays included), oldest first."""
    return list(
        Delivery.objects.filter(event=event)
        .select_related("event", "endpoint", "replay_of")
        .order_by("created_at", "public_id")
    )


def after(queryset: QuerySet[Event], anchor: Event) -> QuerySet[Event]:
    """The events after ``anchor`` in ascending (created_at, public id) order: the stream's keyset."""
    return (
        queryset.filter(created_at__gte=anchor.created_at)
        .filter(Q(created_at__gt=anchor.created_at) | Q(created_at=anchor.created_at, public_id__gt=anchor.public_id))
        .order_by("created_at", "public_id")
    )


@dataclass(frozen=True)
class StreamPage:
    events: list[Event]
    has_more: bool
    refused_wait: bool = False  # the process had no long-poll slot free: answered at once


def read_after(queryset: QuerySet[Event], anchor: Event, *, limit: int, now: datetime | None = None) -> StreamPage:
    """One ascending page after ``anchor``: only settled events, so none can appear behind it later."""
    settled_before = (now or timezone.now()) - SETTLE
    rows = list(after(queryset, anchor).filter(created_at__lte=settled_before)[: limit + 1])
    return StreamPage(events=rows[:limit], has_more=len(rows) > limit)


def wait_after(
    queryset: QuerySet[Event],
    anchor: Event,
    *,
    limit: int,
    wait: float,
    organization_id: int,
    mode: str,
) -> StreamPage:
    """``read_after``, waiting up to ``wait`` seconds for a first event when there is none yet."""
    page = read_after(queryset, anchor, limit=limit)
    if page.events or wait <= 0:
        return page
    with _long_poll_slot() as granted:
        if not granted:
            return StreamPage(events=[], has_more=False, refused_wait=True)
        deadline = time.monotonic() + wait
        key = event_signal_key(organization_id, mode)
        seen = _read_signal(key)
        next_check = time.monotonic() + RECHECK_SECONDS
        settles_at = _next_settle(queryset, anchor)
        _release_connection()
        while True:
            now = time.monotonic()
            if now >= deadline:
                return page
            time.sleep(min(POLL_INTERVAL, deadline - now))
            signal = _read_signal(key)
            now = time.monotonic()
            if signal != seen or now >= next_check or (settles_at is not None and now >= settles_at):
                seen = signal
                next_check = now + RECHECK_SECONDS
                page = read_after(queryset, anchor, limit=limit)
                if page.events:
                    return page
                settles_at = _next_settle(queryset, anchor)
                _release_connection()


def _next_settle(queryset: QuerySet[Event], anchor: Event) -> float | None:
    """When (monotonic) the first committed but unsettled event after ``anchor`` becomes readable."""
    created = after(queryset, anchor).values_list("created_at", flat=True).first()
    if created is None:
        return None
    remaining = (created + SETTLE - timezone.now()).total_seconds()
    return time.monotonic() + max(remaining, 0.0)


def _release_connection() -> None:
    """Close the database connection while waiting, so a long poll holds none (reopened on the next query).

    Inside a transaction (the test suite's, or a caller's) it cannot be closed, and is left alone."""
    if not connection.in_atomic_block:
        connection.close()


@contextmanager
def _long_poll_slot() -> Iterator[bool]:
    semaphore = _semaphore()
    granted = semaphore.acquire(blocking=False)
    try:
        yield granted
    finally:
        if granted:
            semaphore.release()


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(max(1, int(settings.EVENTS_MAX_LONG_POLLS)))
        return _slots


def _read_signal(key: str) -> Any:
    try:
        return fastcache.get(key)  # written by events.announce_events
    except Exception:  # the cache is an optimisation: the periodic recheck still finds the event
        logger.warning("event signal unreadable", exc_info=True)
        return None
