"""Retention of the webhook log by whole weeks, on PostgreSQL (core/partitions.py).

Events and deliveries are partitioned by week of ``created_at``, attempts by week of ``started_at``.
Past the retention, a week goes whole, never row by row, with three rules that keep the log consistent:

- A week of deliveries stays while it holds a pending or held delivery (a retry schedule of about
  three days, or a hold of up to 30): it goes on the first run after its last one finishes. Before
  it goes, replays made later of its deliveries forget the link (``replay_of``), as a DELETE would.
- A week of attempts goes only once no unfinished delivery of that week or before is left: an
  attempt is never older than its delivery, so the attempts of every delivery still shown are kept.
- A week of events stays while a delivery of a later week refers to one of them (a replay of an old
  event, or a delivery written just after the week turned), so a delivery never loses its event.

What a kept week still holds past the retention (finished deliveries beside an unfinished one,
orphan events), and anything in the default partition, is deleted row by row by ``deliveries_prune``.
Every check reads an index over a small range, so the cost does not grow with the volume.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max, Min

from core import partitions

from .models import Attempt, Delivery, Event

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.HELD)
# Weeks of partitions made ahead by each run (hourly): at least a week without a run before any row
# lands in the default partition.
AHEAD_WEEKS = 1


def _table(model: type[Event] | type[Delivery] | type[Attempt]) -> str:
    return model._meta.db_table


def webhook_partitions_maintain(*, now: datetime, cutoff: datetime) -> datetime:
    """Create the weeks ahead and drop the whole weeks past ``cutoff``; returns the cutoff left for row deletes.

    That is the start of the week holding ``cutoff``: the rows before it that are still there sit in
    the default partition or in weeks kept for the rules above, and only those are deleted row by row.
    """
    partitions.ensure_partitions(_table(Event), "created_at", now=now, ahead=AHEAD_WEEKS)
    partitions.ensure_partitions(_table(Delivery), "created_at", now=now, ahead=AHEAD_WEEKS)
    partitions.ensure_partitions(_table(Attempt), "started_at", now=now, ahead=AHEAD_WEEKS)
    week = partitions.period_start(cutoff)

    partitions.drop_partitions(_table(Delivery), before=week, keep=_delivery_week_kept)
    unfinished_since = (
        Delivery.objects.filter(status__in=UNFINISHED, created_at__lt=week).order_by("created_at").first()
    )
    attempts_before = partitions.period_start(unfinished_since.created_at) if unfinished_since else week
    partitions.drop_partitions(_table(Attempt), before=attempts_before)
    partitions.drop_partitions(_table(Event), before=week, keep=_event_week_kept)
    return week


def _delivery_week_kept(week: partitions.Partition) -> bool:
    of_week = Delivery.objects.filter(created_at__gte=week.lower, created_at__lt=week.upper)
    if of_week.filter(status__in=UNFINISHED).exists():
        return True
    ids = of_week.aggregate(low=Min("pk"), high=Max("pk"))
    if ids["low"] is not None:
        # Replays of this week's deliveries, made in a later week: the same as on_delete=SET_NULL.
        Delivery.objects.filter(
            replay_of_id__gte=ids["low"],
            replay_of_id__lte=ids["high"],
            replay_of__created_at__gte=week.lower,
            replay_of__created_at__lt=week.upper,
            created_at__gte=week.upper,
        ).update(replay_of=None)
    return False


def _event_week_kept(week: partitions.Partition) -> bool:
    ids = Event.objects.filter(created_at__gte=week.lower, created_at__lt=week.upper).aggregate(
        low=Min("pk"), high=Max("pk")
    )
    if ids["low"] is None:
        return False
    # Ids follow time closely, so the id range picks out the few candidates from the delivery.event
    # index; the join on the event's week confirms them.
    return Delivery.objects.filter(
        event_id__gte=ids["low"],
        event_id__lte=ids["high"],
        event__created_at__gte=week.lower,
        event__created_at__lt=week.upper,
    ).exists()
