"""Celery tasks: thin wrappers that take ids and call one service each.

The broker carries only delivery ids. If a message is lost (broker restart, killed worker) the
row stays pending in the database and ``sweep`` sends it again, so nothing depends on the broker.
"""

from __future__ import annotations

from celery import shared_task

from . import delivery
from .dispatch import forget_queued


@shared_task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> None:
    delivery.deliveries_attempt(delivery_ids=[delivery_id], with_backlog=True)


@shared_task(name="webhooks.deliver_batch", acks_late=True, ignore_result=True)
def deliver_batch(delivery_ids: list[int], organization_id: int | None = None) -> None:
    if organization_id is not None:
        # Before claiming: an event committed from now on sends its own task (see dispatch.enqueue_fanout).
        forget_queued(organization_id)
    delivery.deliveries_attempt(
        delivery_ids=delivery_ids,
        with_backlog=True,
        organization_ids=[organization_id] if organization_id is not None else [],
    )


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> None:
    delivery.deliveries_sweep()


@shared_task(name="webhooks.prune", ignore_result=True)
def prune() -> None:
    delivery.deliveries_prune()
