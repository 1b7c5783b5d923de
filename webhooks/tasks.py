"""Celery tasks: thin wrappers that take ids and call one service each.

The broker carries only an organisation id and a lane. If a message is lost (broker restart, killed
worker) the rows stay pending in the database and ``sweep`` wakes the organisation again within
seconds, so nothing depends on the broker.
"""

from __future__ import annotations

from celery import shared_task

from . import delivery
from .dispatch import forget_queued


# Acknowledged on receipt, not after: the database is the record of work and the sweep finds a
# turn lost with its worker within seconds, so a redelivery an hour later would only be noise.
@shared_task(name="webhooks.turn", acks_late=False, ignore_result=True)
def turn(organization_id: int, lane: str) -> None:
    # Before claiming: an event committed from now on wakes another turn (see dispatch.enqueue_turn).
    forget_queued(organization_id, lane)
    delivery.deliveries_turn(organization_id=organization_id, lane=lane)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> None:
    delivery.deliveries_sweep()


@shared_task(name="webhooks.prune", ignore_result=True)
def prune() -> None:
    delivery.deliveries_prune()
