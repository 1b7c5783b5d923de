"""Celery tasks: thin wrappers that take ids and call one service each.

The broker carries only delivery ids. If a message is lost (broker restart, killed worker) the
row stays pending in the database and ``sweep`` sends it again, so nothing depends on the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    services.deliveries_attempt(delivery_ids=[delivery_id], with_backlog=True)


@shared_task(name="webhooks.deliver_batch", acks_late=True, ignore_result=True)
def deliver_batch(delivery_ids: list[int], organization_id: int | None = None) -> None:
    if organization_id is not None:
        # Before claiming: an event committed from now on sends its own task (see enqueue_fanout).
        _forget_queued(organization_id)
    services.deliveries_attempt(delivery_ids=delivery_ids, with_backlog=True,
                                organization_ids=[organization_id] if organization_id is not None else [])


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> None:
    services.deliveries_sweep()


@shared_task(name="webhooks.prune", ignore_result=True)
def prune() -> None:
    services.deliveries_prune()


def enqueue_deliveries(delivery_ids: Sequence[int], *, countdown: float | None = None) -> None:
    """Send delivery tasks (batched, in order), never raising: a broker outage must not fail the
    committed request. Whatever could not be sent stays pending in the database for the sweep."""
    ids = list(delivery_ids)
    try:
        if len(ids) == 1:
            deliver.apply_async((ids[0],), countdown=countdown)
            return
        for start in range(0, len(ids), services.TASK_BATCH):
            deliver_batch.apply_async((ids[start:start + services.TASK_BATCH],), countdown=countdown)
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
        for start in range(0, max(len(ids), 1), services.TASK_BATCH):
            deliver_batch.apply_async((ids[start:start + services.TASK_BATCH], organization_id),
                                      countdown=countdown or None)
    except Exception:  # the broker is down or unreachable
        _forget_queued(organization_id)
        logger.warning("could not enqueue %d webhook deliveries; the sweep will retry them", len(ids), exc_info=True)


def _queued_key(organization_id: int) -> str:
    return f"webhooks:fanout-queued:{organization_id}"


def _forget_queued(organization_id: int) -> None:
    try:
        cache.delete(_queued_key(organization_id))
    except Exception:
        logger.warning("could not clear the webhook fan-out flag", exc_info=True)
