"""Waking the delivery engine: an organisation's *turn* in one lane, sent by name (core.queue), so
services and events, which the tasks call, need not import them.

A turn (``webhooks.turn``) carries only an organisation id and a lane; the database says what is
due. Fast-lane turns go to the ``webhooks`` queue, slow-lane turns (endpoints whose recent attempts
timed out or answered slowly) to ``webhooks_slow``, each consumed by its own threaded worker (Procfile).

While a turn of an organisation and lane waits in the queue, new events of that organisation send
no task of their own: the waiting turn claims them when it starts. So the queue holds at most about
one turn per organisation and lane, and organisations take turns in the order they asked, however
long one of them's backlog is. The flag lives in the shared cache for a few seconds only
(TURN_FLAG_SECONDS): if its task is lost with a worker, the next event or the sweep sends another.
The flags go through core.fastcache's long-lived Redis client: every event checks one, and Django's
RedisCache builds a client object per call.

Never raising: a broker outage must not fail a committed request; whatever could not be sent stays
pending in the database for the sweep.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from core import fastcache
from core.queue import enqueue

logger = logging.getLogger(__name__)

FAST, SLOW = "fast", "slow"
LANE_QUEUES = {FAST: "webhooks", SLOW: "webhooks_slow"}
# A flag outlives its task by at most this long (a turn lost with a killed worker).
TURN_FLAG_SECONDS = 5


def enqueue_fanout(*, organization_id: int, also_set: tuple[str, Any, int] | None = None) -> None:
    """After an event's commit: wake the organisation's fast-lane turn after a short gather
    (WEBHOOK_FANOUT_GATHER_SECONDS, so a burst goes out in a few large batches). The turn wakes
    the slow lane itself when slow endpoints have work. ``also_set``: see enqueue_turn."""
    enqueue_turn(organization_id=organization_id, lane=FAST, gather=True, also_set=also_set)


def enqueue_turn(
    *,
    organization_id: int,
    lane: str,
    gather: bool = False,
    countdown: float | None = None,
    also_set: tuple[str, Any, int] | None = None,
) -> bool:
    """Send a turn unless one of this organisation and lane is already waiting; True if sent.

    ``countdown`` (a retry's backoff) sends a turn for later; those are deduplicated per second of
    their due time, so a failing burst schedules one wake, not one per delivery. ``also_set`` (a
    shared-cache key, value and timeout) is written in the flag's round trip (fastcache.add)."""
    key = _queued_key(organization_id, lane)
    if countdown:
        key += f":at:{int(time.time() + countdown)}"
    elif gather:
        countdown = settings.WEBHOOK_FANOUT_GATHER_SECONDS
    try:
        if not fastcache.add(key, 1, int(countdown or 0) + TURN_FLAG_SECONDS, also_set=also_set):
            return False
    except Exception:  # no cache: every wake sends its task (turns are idempotent)
        logger.warning("webhook turn flag unavailable; sending the task anyway", exc_info=True)
    try:
        enqueue("webhooks.turn", organization_id, lane, queue=LANE_QUEUES[lane], countdown=countdown or None)
    except Exception:  # the broker is down or unreachable
        fastcache.delete(key)
        logger.warning("could not enqueue a webhook turn; the sweep will retry it", exc_info=True)
        return False
    return True


def _queued_key(organization_id: int, lane: str) -> str:
    return f"webhooks:turn-queued:{organization_id}:{lane}"


def forget_queued(organization_id: int, lane: str) -> None:
    """A turn starts: from now on the next event of its organisation wakes another."""
    try:
        fastcache.delete(_queued_key(organization_id, lane))
    except Exception:
        logger.warning("could not clear the webhook turn flag", exc_info=True)
