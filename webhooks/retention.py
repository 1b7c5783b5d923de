"""Retention of the webhook log by whole days, on PostgreSQL (core/partitions.py).

Events and deliveries are partitioned by day of ``created_at``, attempts by day of ``started_at``.
Past the retention, a day goes whole, never row by row, with three rules that keep the log consistent:

- A day of deliveries stays while it holds a pending or held delivery (a retry schedule of about
  three days, or a hold of up to 30): it goes on the first run after its last one finishes. Before
  it goes, replays made later of its deliveries forget the link (``replay_of``), as a DELETE would.
- A day of attempts goes only once no unfinished delivery of that day or before is left: an attempt
  is never older than its delivery, so the attempts of every delivery still shown are kept.
- A day of events stays while a delivery of a later day refers to one of them (a replay of an old
  event, or a delivery written just after midnight), so a delivery never loses its event.

What a kept day still holds past the retention (finished deliveries beside an unfinished one, orphan
events), and anything in the default partition, is deleted row by row by ``deliveries_prune``.
Every check reads an index over a small range, so the cost does not grow with the volume.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max, Min

from core import partitions

from .models import Attempt, Delivery, Event

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.HELD)
# Days of partitions made ahead of time by each run (hourly): a week without a run before any row
# lands in the default partition.
AHEAD_DAYS = 7


def _table(model: type[Event] | type[Delivery] | type[Attempt]) -> str:
    return model._meta.db_table


def webhook_partitions_maintain(*, now: datetime, cutoff: datetime) -> datetime:
    """Create the days ahead and drop the whole days past ``cutoff``; returns the cutoff left for row deletes.

    That is the start of the day holding ``cutoff``: the rows before it that are still there sit in
    the default partition or in days kept for the rules above, and only those are deleted row by row.
    """
    partitions.ensure_partitions(_table(Event), "created_at", now=now, ahead=AHEAD_DAYS)
    partitions.ensure_partitions(_table(Delivery), "created_at", now=now, ahead=AHEAD_DAYS)
    partitions.ensure_partitions(_table(Attempt), "started_at", now=now, ahead=AHEAD_DAYS)
    day = partitions.day_start(cutoff)

    partitions.drop_partitions(_table(Delivery), before=day, keep=_delivery_day_kept)
    unfinished_since = Delivery.objects.filter(status__in=UNFINISHED, created_at__lt=day).order_by("created_at").first()
    attempts_before = partitions.day_start(unfinished_since.created_at) if unfinished_since else day
    partitions.drop_partitions(_table(Attempt), before=attempts_before)
    partitions.drop_partitions(_table(Event), before=day, keep=_event_day_kept)
    return day


def _delivery_day_kept(day: partitions.Partition) -> bool:
    of_day = Delivery.objects.filter(created_at__gte=day.lower, created_at__lt=day.upper)
    if of_day.filter(status__in=UNFINISHED).exists():
        return True
    ids = of_day.aggregate(low=Min("pk"), high=Max("pk"))
    if ids["low"] is not None:
        # Replays of this day's deliveries, made on a later day: the same as on_delete=SET_NULL.
        Delivery.objects.filter(
            replay_of_id__gte=ids["low"],
            replay_of_id__lte=ids["high"],
            replay_of__created_at__gte=day.lower,
            replay_of__created_at__lt=day.upper,
            created_at__gte=day.upper,
        ).update(replay_of=None)
    return False


def _event_day_kept(day: partitions.Partition) -> bool:
    ids = Event.objects.filter(created_at__gte=day.lower, created_at__lt=day.upper).aggregate(
        low=Min("pk"), high=Max("pk")
    )
    if ids["low"] is None:
        return False
    # Ids follow time closely, so the id range picks out the few candidates from the delivery.event
    # index; the join on the event's day confirms them.
    return Delivery.objects.filter(
        event_id__gte=ids["low"],
        event_id__lte=ids["high"],
        event__created_at__gte=day.lower,
        event__created_at__lt=day.upper,
    ).exists()
