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

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q

from core import partitions

from .models import Attempt, Delivery, Event

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.HELD)
# Weeks of partitions made ahead by each run (hourly): at least a week without a run before any row
# lands in the default partition.
AHEAD_WEEKS = 1
REFERRER_BATCH = 1000


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
    # Replays of this week's deliveries, made in a later week, forget them (as on_delete=SET_NULL).
    for replays in _referrers(week, Delivery, link="replay_of_id", since=week.upper):
        Delivery.objects.filter(pk__in=replays).update(replay_of=None)
    return False


def _event_week_kept(week: partitions.Partition) -> bool:
    # Deliveries of the same week too: the week of deliveries may have been kept.
    return any(_referrers(week, Event, link="event_id", since=week.lower))


def _referrers(
    week: partitions.Partition, target: type[Event] | type[Delivery], *, link: str, since: datetime
) -> Iterator[list[int]]:
    """Batches of ids of deliveries made from ``since`` whose ``link`` points at a row of ``target`` in ``week``.

    Ids follow time closely, so the week's id range (two index probes) picks the few candidates out
    of the ``link`` index, and a lookup by primary key confirms them: the cost does not grow with the
    week's rows. (A plain join could be planned as a scan of the whole week.)
    """
    in_week = target.objects.filter(created_at__gte=week.lower, created_at__lt=week.upper)
    first = in_week.order_by("pk").values_list("pk", flat=True).first()
    last = in_week.order_by("-pk").values_list("pk", flat=True).first()
    if first is None or last is None:
        return
    candidates = (
        Delivery.objects.filter(**{f"{link}__gte": first, f"{link}__lte": last, "created_at__gte": since})
        .order_by(link, "pk")
        .values_list("pk", link)
    )
    after = (first - 1, 0)
    while batch := list(
        candidates.filter(Q(**{f"{link}__gt": after[0]}) | Q(**{link: after[0], "pk__gt": after[1]}))[:REFERRER_BATCH]
    ):
        after = (batch[-1][1], batch[-1][0])
        targets = set(in_week.filter(pk__in={target_id for _, target_id in batch}).values_list("pk", flat=True))
        if referrers := [pk for pk, target_id in batch if target_id in targets]:
            yield referrers
