"""Celery tasks: thin wrappers that take ids and call one service each.

The broker carries only delivery ids. If a message is lost (broker restart, killed worker) the
row stays pending in the database and ``sweep`` sends it again, so nothing depends on the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.deliver_batch", acks_late=True, ignore_result=True)
def deliver_batch(delivery_ids: list[int]) -> None:
    services.deliveries_attempt(delivery_ids=delivery_ids)


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
