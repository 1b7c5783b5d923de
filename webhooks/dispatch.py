"""Sending the delivery tasks: by name (core.queue), so services and events, which the tasks call, need not import them.

Never raising: a broker outage must not fail a committed request; whatever could not be sent stays
pending in the database for the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache

from core.queue import enqueue

logger = logging.getLogger(__name__)

# Deliveries per task when a batch is queued (fan-out, sweep, release) and requests in flight at once.
TASK_BATCH = 20


def enqueue_deliveries(delivery_ids: Sequence[int], *, countdown: float | None = None) -> None:
    """Send delivery tasks (batched, in order), never raising: a broker outage must not fail the
    committed request. Whatever could not be sent stays pending in the database for the sweep."""
    ids = list(delivery_ids)
    try:
        if len(ids) == 1:
            enqueue("webhooks.deliver", ids[0], countdown=countdown)
            return
        for start in range(0, len(ids), TASK_BATCH):
            enqueue("webhooks.deliver_batch", ids[start : start + TASK_BATCH], countdown=countdown)
    except Exception:  # the broker is down or unreachable
        logger.warning("could not enqueue %d webhook deliveries; the sweep will retry them", len(ids), exc_info=True)


# While a fan-out task of an organisation waits in the queue, new events of that organisation
# send no task of their own: the waiting task claims the organisation's whole due backlog when it
# starts (in batches, until nothing is left). The task waits WEBHOOK_FANOUT_GATHER_SECONDS before
# it runs (0.1 s by default, like a producer's linger), so a burst of events is delivered in a few
# large batches instead of one small task each. A drain that finds more than one batch due asks for
# a helper the same way, so a long backlog spreads over every worker process. The flag lives in the shared cache; if it is lost, or
# its task is, the deliveries stay pending in the database and the sweep sends them.
FANOUT_QUEUED_TTL = 60


def enqueue_fanout(*, organization_id: int, delivery_ids: Sequence[int], gather: bool = True) -> None:
    """Wake a worker for an organisation's due deliveries, unless a task of the organisation is
    already waiting. ``gather=False`` (a drain asking for help with a long backlog) runs it at once."""
    try:
        if not cache.add(_queued_key(organization_id), 1, FANOUT_QUEUED_TTL):
            return
    except Exception:  # no cache: every event sends its task
        logger.warning("webhook fan-out flag unavailable; sending the task anyway", exc_info=True)
    ids = list(delivery_ids)
    countdown = settings.WEBHOOK_FANOUT_GATHER_SECONDS if gather else 0
    try:
        for start in range(0, max(len(ids), 1), TASK_BATCH):
            enqueue(
                "webhooks.deliver_batch", ids[start : start + TASK_BATCH], organization_id, countdown=countdown or None
            )
    except Exception:  # the broker is down or unreachable
        forget_queued(organization_id)
        logger.warning("could not enqueue %d webhook deliveries; the sweep will retry them", len(ids), exc_info=True)


def _queued_key(organization_id: int) -> str:
    return f"webhooks:fanout-queued:{organization_id}"


def forget_queued(organization_id: int) -> None:
    try:
        cache.delete(_queued_key(organization_id))
    except Exception:
        logger.warning("could not clear the webhook fan-out flag", exc_info=True)
