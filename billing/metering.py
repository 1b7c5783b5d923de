"""Metering: the one function that records usage, the API-request counter hook and its flush.

Every unit of usage lands in an hourly rollup (organisation, key, metric, mode, hour). Live usage
first uses the plan's free quota for the calendar month (UTC); after that each unit — or each
completed block of 1,000 API requests — is charged to the wallet at the plan's price at that moment,
copied onto the ledger row. Test-mode usage is rolled up for visibility and never charged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization
from core.prune import PRUNE_BATCH, delete_in_batches

from .attribution import UsageSource
from .models import (
    FlushBatch,
    Metric,
    Mode,
    MonthlyUsage,
    Subscription,
    UsageRecord,
    UsageRollup,
    Wallet,
)
from .quota import (
    decode_counter_field,
    hour_from_epoch_hours,
    hour_start,
    money,
    month_start,
    units_to_bill,
)
from .wallet import ChargeDetail, Reservation, wallet_debit, wallet_release, wallet_reserve

logger = logging.getLogger(__name__)

_METRIC_NOUNS: dict[str, tuple[str, str]] = {
    Metric.API_REQUESTS: ("block of 1,000 API requests", "blocks of 1,000 API requests"),
    Metric.WEBHOOK_ATTEMPTS: ("webhook delivery attempt", "webhook delivery attempts"),
    Metric.TOOL_INVOCATIONS: ("custom-tool invocation", "custom-tool invocations"),
    Metric.SMS_SEGMENTS: ("SMS segment", "SMS segments"),
}


def record_usage(
    *,
    organization: Organization,
    metric: str,
    quantity: int,
    mode: str,
    reference: str,
    api_key_id: int | None = None,
    source: str | None = None,
) -> tuple[UsageRecord, bool]:
    """Record `quantity` units of `metric`; returns (record, created). A repeated reference is a no-op.

    `api_key_id` and `source` say who caused it (billing.attribution); `source` defaults to "api"
    with a key and "system" without. Live units beyond the month's free quota are charged in the
    same transaction, so a unit is either recorded and charged or neither.
    """
    source = _source(source, api_key_id)
    if metric not in Metric.values:
        raise ValueError(f"Unknown metric {metric!r}")
    if mode not in Mode.values:
        raise ValueError(f"Unknown mode {mode!r}")
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    now = timezone.now()
    # No savepoint of its own inside a caller's transaction (an error rolls the caller back anyway);
    # only the duplicate check needs one.
    with transaction.atomic(savepoint=False):
        try:
            with transaction.atomic():
                record = UsageRecord.objects.create(
                    organization=organization,
                    api_key_id=api_key_id,
                    source=source,
                    metric=metric,
                    quantity=quantity,
                    mode=mode,
                    reference=reference,
                )
        except IntegrityError:
            existing = UsageRecord.objects.filter(reference=reference).first()
            if existing is None:
                raise
            return existing, False
        amount = Decimal("0")
        if mode == Mode.LIVE:
            _, amount, _ = _charge_live(
                organization=organization,
                metric=metric,
                quantity=quantity,
                at=now,
                api_key_id=api_key_id,
                per_unit_reference=f"usage:{record.pk}",
            )
            if amount:
                record.amount = amount
                record.save(update_fields=["amount"])
        _rollup_add(
            organization_id=organization.pk,
            api_key_id=api_key_id,
            source=source,
            metric=metric,
            mode=mode,
            hour=hour_start(now),
            quantity=quantity,
            amount=amount,
        )
    return record, True


def _source(source: str | None, api_key_id: int | None) -> str:
    if source is None:
        return UsageSource.API if api_key_id is not None else UsageSource.SYSTEM
    if source not in UsageSource.values:
        raise ValueError(f"Unknown usage source {source!r}")
    if api_key_id is not None and source != UsageSource.API:
        raise ValueError("Only API usage names a key")
    return source


def _charge_live(
    *,
    organization: Organization,
    metric: str,
    quantity: int,
    at: datetime,
    api_key_id: int | None,
    per_unit_reference: str,
    prepay: bool = False,
) -> tuple[int, Decimal, Reservation | None]:
    """Count live units against the month's free quota and charge what lies beyond it.

    Returns (units billed, charge, the reservation when prepaid and not free).

    `prepay` charges work not done yet: the wallet must hold the amount (InsufficientCredits
    otherwise, which rolls the count back with the caller's transaction) instead of being owed it.
    """
    month = month_start(at)
    counter = _lock_month(organization_id=organization.pk, metric=metric, month=month)
    counter.quantity += quantity
    subscription = Subscription.objects.select_related("plan").filter(organization_id=organization.pk).first()
    amount = Decimal("0")
    units = 0
    payment = None
    # Without a plan there is no price; the gate refuses such organisations anyway.
    if subscription is not None:
        terms = subscription.plan.terms(metric)
        units = units_to_bill(
            used_after=counter.quantity,
            free=_free(counter, terms.free),
            already_billed=counter.billed_units,
            unit_size=terms.unit_size,
        )
        if units:
            amount = units * terms.unit_price
            if amount > 0:
                if metric == Metric.API_REQUESTS:
                    # Blocks are numbered within the month, so a re-run can never charge one twice.
                    reference = (
                        f"api-blocks:{organization.pk}:{month:%Y-%m}:{counter.billed_units + 1}-"
                        f"{counter.billed_units + units}"
                    )
                else:
                    reference = per_unit_reference
                singular, plural = _METRIC_NOUNS[metric]
                reason = f"{units:,} {singular if units == 1 else plural} at ${money(terms.unit_price)}"
                charge = ChargeDetail(
                    metric=metric, quantity=units, unit_price=terms.unit_price, api_key_id=api_key_id, at=at
                )
                if prepay:
                    payment = wallet_reserve(
                        organization=organization, amount=amount, reference=reference, reason=reason, charge=charge
                    )
                else:
                    wallet_debit(
                        organization=organization,
                        amount=amount,
                        reference=reference,
                        allow_negative=True,
                        reason=reason,
                        charge=charge,
                    )
            # Counted as billed even at a price of zero, so a later price rise never charges them.
            counter.billed_units += units
    counter.save(update_fields=["quantity", "billed_units"])
    return units, amount, payment


def affordable_units(*, organization_id: int, metric: str, at: datetime | None = None) -> int | None:
    """How many more live units of `metric` the organisation can pay for now: what is left of the month's free
    quota plus whole units the balance covers at the plan's price. None when there is no limit (no plan, or a
    price of zero). Used to release held work only as far as the wallet pays for it."""
    subscription = Subscription.objects.select_related("plan").filter(organization_id=organization_id).first()
    if subscription is None:
        return None
    terms = subscription.plan.terms(metric)
    if terms.unit_price <= 0:
        return None
    month = month_start(at or timezone.now())
    used = (
        MonthlyUsage.objects.filter(organization_id=organization_id, metric=metric, month=month)
        .values_list("quantity", flat=True)
        .first()
        or 0
    )
    free_left = max(0, terms.free - used) // terms.unit_size * terms.unit_size
    balance = Wallet.objects.filter(organization_id=organization_id).values_list("balance", flat=True).first()
    paid = int(balance // terms.unit_price) * terms.unit_size if balance and balance > 0 else 0
    return free_left + paid


def _charge_api_requests(
    *, organization: Organization, quantity: int, at: datetime, api_key_id: int | None
) -> dict[int | None, Decimal]:
    """Count live API requests against the month and charge the blocks of 1,000 they complete.

    A block's charge is split among the keys whose billable requests filled it, in proportion, to the
    unit ($0.000001), the remainder to the largest share: per-key charges add up to the ledger (one
    ledger row per key and block range). The requests beyond the completed blocks stay in the open
    block, as this key's. Returns the charge per key id.
    """
    month = month_start(at)
    counter = _lock_month(organization_id=organization.pk, metric=Metric.API_REQUESTS, month=month)
    before = counter.quantity
    counter.quantity += quantity
    subscription = Subscription.objects.select_related("plan").filter(organization_id=organization.pk).first()
    shares: dict[int | None, Decimal] = {}
    if subscription is None:
        counter.save(update_fields=["quantity"])
        return shares
    terms = subscription.plan.terms(Metric.API_REQUESTS)
    name = "" if api_key_id is None else str(api_key_id)
    pool = {k: int(v) for k, v in (counter.open_block or {}).items()}
    free = _free(counter, terms.free)
    # Billable requests beyond the blocks already charged: what this entry adds to the open block.
    boundary = free + counter.billed_units * terms.unit_size
    added = max(0, counter.quantity - boundary) - max(0, before - boundary)
    if added:
        pool[name] = pool.get(name, 0) + added
    units = units_to_bill(
        used_after=counter.quantity, free=free, already_billed=counter.billed_units, unit_size=terms.unit_size
    )
    if units:
        filled_requests = units * terms.unit_size
        left = max(0, sum(pool.values()) - filled_requests)
        filled = dict(pool)
        # What overflows the completed blocks is this entry's key's, the last to add.
        filled[name] = filled.get(name, 0) - min(left, filled.get(name, 0))
        filled = {k: v for k, v in filled.items() if v > 0}
        pool = {name: left} if left else {}
        amount = units * terms.unit_price
        if amount > 0 and filled:
            first, last = counter.billed_units + 1, counter.billed_units + units
            reference = f"api-blocks:{organization.pk}:{month:%Y-%m}:{first}-{last}"
            split = _split(amount, filled)
            largest = max(split, key=lambda k: (filled[k], k))
            singular, plural = _METRIC_NOUNS[Metric.API_REQUESTS]
            for key_name, share in sorted(split.items()):
                if share <= 0:
                    continue
                key_id = int(key_name) if key_name else None
                count = filled[key_name]
                reason = f"{units:,} {singular if units == 1 else plural} at ${money(terms.unit_price)}" + (
                    f" ({count:,} of {filled_requests:,} requests)" if len(filled) > 1 else ""
                )
                wallet_debit(
                    organization=organization,
                    amount=share,
                    # One key filled the block: the reference of old; several: one row each.
                    reference=reference if len(filled) == 1 else f"{reference}:{key_name or 'none'}",
                    allow_negative=True,
                    reason=reason,
                    charge=ChargeDetail(
                        metric=Metric.API_REQUESTS,
                        quantity=units if key_name == largest else 0,
                        unit_price=terms.unit_price,
                        api_key_id=key_id,
                        at=at,
                    ),
                )
                shares[key_id] = shares.get(key_id, Decimal("0")) + share
        counter.billed_units += units
    counter.open_block = pool
    counter.save(update_fields=["quantity", "billed_units", "open_block"])
    return shares


def _free(counter: MonthlyUsage, plan_free: int) -> int:
    """The month's free units: the plan's, or what a plan change this month set (see `plan_change_effect`)."""
    return plan_free if counter.free_units is None else counter.free_units


@dataclass(frozen=True)
class PlanChangeLine:
    metric: str
    used: int  # live units used this month so far
    free_before: int  # the allowance left before the change
    free_after: int  # the allowance left after it: the new plan's quota minus what was used, never negative
    unit_price_after: Decimal


def plan_change_effect(*, organization_id: int, new_plan: Any, at: datetime | None = None) -> list[PlanChangeLine]:
    """What changing to `new_plan` now would do to this month, per metric (nothing is charged by a change)."""
    month = month_start(at or timezone.now())
    counters = {c.metric: c for c in MonthlyUsage.objects.filter(organization_id=organization_id, month=month)}
    subscription = Subscription.objects.select_related("plan").filter(organization_id=organization_id).first()
    lines = []
    for metric in Metric.values:
        counter = counters.get(metric)
        used = counter.quantity if counter else 0
        old_free = 0
        if subscription is not None:
            plan_free = subscription.plan.terms(metric).free
            old_free = plan_free if counter is None or counter.free_units is None else counter.free_units
        new_terms = new_plan.terms(metric)
        lines.append(
            PlanChangeLine(
                metric=metric,
                used=used,
                free_before=max(0, old_free - used),
                free_after=max(0, new_terms.free - used),
                unit_price_after=new_terms.unit_price,
            )
        )
    return lines


def plan_change_apply(*, organization_id: int, new_plan: Any, at: datetime | None = None) -> None:
    """Carry this month's counters over a plan change, in the caller's transaction: usage before the change
    keeps the terms it was billed under (no charge, no refund now); from now on the new plan's prices apply
    and its free quota is what is left of it after this month's usage (never negative).

    The effective free count F makes `units_to_bill` do exactly that: F = used + new allowance left −
    units already billed × unit size. A partial API block not billed under the old terms is not billed.
    """
    month = month_start(at or timezone.now())
    for metric in Metric.values:
        counter = _lock_month(organization_id=organization_id, metric=metric, month=month)
        terms = new_plan.terms(metric)
        left = max(0, terms.free - counter.quantity)
        counter.free_units = counter.quantity + left - counter.billed_units * terms.unit_size
        counter.open_block = {}
        counter.save(update_fields=["free_units", "open_block"])


def _split(amount: Decimal, counts: dict[str, int]) -> dict[str, Decimal]:
    """`amount` in proportion to `counts`, each rounded down to the unit ($0.000001), the rest to the largest."""
    unit = Decimal("0.000001")
    total = sum(counts.values())
    split = {k: (amount * v / total).quantize(unit, rounding=ROUND_DOWN) for k, v in counts.items()}
    largest = max(counts, key=lambda k: (counts[k], k))
    split[largest] += amount - sum(split.values())
    return split


# --- Prepaid usage: reserved before the work, confirmed or released after ----------------------------


@dataclass(frozen=True)
class UsageReservation:
    """Live units counted against the month and paid for before the work is done (see `usage_reserve`)."""

    organization: Organization
    metric: str
    quantity: int
    reference: str
    api_key_id: int | None
    source: str
    at: datetime
    month: date
    units_billed: int
    payment: Reservation | None  # None when the free quota (or a zero price) covered every unit


def usage_reserve(
    *,
    organization: Organization,
    metric: str,
    quantity: int,
    reference: str,
    api_key_id: int | None = None,
    source: str | None = None,
) -> UsageReservation:
    """Count `quantity` live units of work about to be done and take their price from the wallet now.

    The month's counter row lock serialises the free quota, and the charge is a conditional debit
    (`wallet_reserve`), so concurrent callers can neither share the last free unit nor overdraw the
    wallet: one that cannot pay gets InsufficientCredits and nothing is counted. The ledger row
    written here *is* the charge: `usage_confirm` records the usage without charging again, and
    `usage_release` gives both the units and the money back when the work is not done.
    """
    if metric not in Metric.values or metric == Metric.API_REQUESTS:
        raise ValueError(f"{metric!r} cannot be prepaid (API requests are billed after the fact, per block)")
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    source = _source(source, api_key_id)
    at = timezone.now()
    with transaction.atomic():
        units, _, payment = _charge_live(
            organization=organization,
            metric=metric,
            quantity=quantity,
            at=at,
            api_key_id=api_key_id,
            per_unit_reference=reference,
            prepay=True,
        )
    return UsageReservation(
        organization=organization,
        metric=metric,
        quantity=quantity,
        reference=reference,
        api_key_id=api_key_id,
        source=source,
        at=at,
        month=month_start(at),
        units_billed=units,
        payment=payment,
    )


def usage_confirm(*, reservation: UsageReservation) -> UsageRecord:
    """The work was done: record the usage and add it to the rollup, at the price already taken (no new charge)."""
    amount = reservation.payment.amount if reservation.payment else Decimal("0")
    with transaction.atomic(savepoint=False):
        try:
            with transaction.atomic():
                record = UsageRecord.objects.create(
                    organization=reservation.organization,
                    api_key_id=reservation.api_key_id,
                    source=reservation.source,
                    metric=reservation.metric,
                    quantity=reservation.quantity,
                    mode=Mode.LIVE,
                    reference=reservation.reference,
                    amount=amount,
                )
        except IntegrityError:
            return UsageRecord.objects.get(reference=reservation.reference)
        _rollup_add(
            organization_id=reservation.organization.pk,
            api_key_id=reservation.api_key_id,
            source=reservation.source,
            metric=reservation.metric,
            mode=Mode.LIVE,
            hour=hour_start(reservation.at),
            quantity=reservation.quantity,
            amount=amount,
        )
    return record


def usage_release(*, reservation: UsageReservation, reason: str) -> None:
    """The work was not done: give the units back to the month's count and the money back to the wallet.

    Units billed are given back with the money, so the month's billed count keeps matching what the
    wallet was charged; a later unit that would have been free is then charged, and a refunded
    free unit becomes free again.
    """
    with transaction.atomic():
        counter = _lock_month(
            organization_id=reservation.organization.pk, metric=reservation.metric, month=reservation.month
        )
        counter.quantity = max(0, counter.quantity - reservation.quantity)
        counter.billed_units = max(0, counter.billed_units - reservation.units_billed)
        counter.save(update_fields=["quantity", "billed_units"])
        if reservation.payment is not None:
            wallet_release(reservation=reservation.payment, reason=reason)


def _lock_month(*, organization_id: int, metric: str, month: Any) -> MonthlyUsage:
    """The month's counter row, locked for the rest of the transaction (created on first use)."""
    rows = MonthlyUsage.objects.select_for_update().filter(organization_id=organization_id, metric=metric, month=month)
    counter = rows.first()
    if counter is not None:
        return counter
    try:
        with transaction.atomic():
            MonthlyUsage.objects.create(organization_id=organization_id, metric=metric, month=month)
    except IntegrityError:
        pass  # another transaction created it first; lock theirs
    return rows.get()


def _rollup_add(
    *,
    organization_id: int,
    api_key_id: int | None,
    source: str,
    metric: str,
    mode: str,
    hour: datetime,
    quantity: int,
    amount: Decimal,
) -> None:
    rows = UsageRollup.objects.filter(
        organization_id=organization_id, api_key_id=api_key_id, source=source, metric=metric, mode=mode, hour=hour
    )
    changes = {"quantity": F("quantity") + quantity, "amount": F("amount") + amount, "updated_at": timezone.now()}
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            UsageRollup.objects.create(
                organization_id=organization_id,
                api_key_id=api_key_id,
                source=source,
                metric=metric,
                mode=mode,
                hour=hour,
                quantity=quantity,
                amount=amount,
            )
    except IntegrityError:
        rows.update(**changes)


# --- API requests -------------------------------------------------------------------------------


def apply_api_counts(*, batch_id: str, counts: dict[str, int], source: str) -> bool:
    """Apply one batch of counters in one transaction; False (and no change) if the batch was applied before."""
    parsed = [(*decode_counter_field(field), value) for field, value in counts.items() if value > 0]
    with transaction.atomic():
        try:
            with transaction.atomic():
                FlushBatch.objects.create(batch_id=batch_id, source=source, requests=sum(value for *_, value in parsed))
        except IntegrityError:
            return False
        organizations = Organization.objects.in_bulk({org_id for _, org_id, _, _, _ in parsed})
        # The key model through the rollup's foreign key: billing knows keys only as the rows usage points at.
        api_keys = UsageRollup._meta.get_field("api_key").related_model._default_manager
        known_keys = set(api_keys.filter(pk__in={key_id for _, _, key_id, _, _ in parsed}).values_list("pk", flat=True))
        merged: dict[tuple[int, int, int | None, str], int] = defaultdict(int)
        for epoch_hour, org_id, raw_key_id, mode, value in parsed:
            if org_id not in organizations:
                logger.warning("Dropping %s API requests of deleted organization %s", value, org_id)
                continue
            merged[(org_id, epoch_hour, raw_key_id if raw_key_id in known_keys else None, mode)] += value
        # Sorted by organisation then time, so the blocks a batch completes are charged in order and
        # locks are always taken in the same order.
        for (org_id, epoch_hour, key_id, mode), value in sorted(
            merged.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0, item[0][3])
        ):
            hour = hour_from_epoch_hours(epoch_hour)
            amount = Decimal("0")
            if mode == Mode.LIVE:
                shares = _charge_api_requests(
                    organization=organizations[org_id], quantity=value, at=hour, api_key_id=key_id
                )
                amount = shares.pop(key_id, Decimal("0"))
                # The other keys that filled a block this entry completed: their share, in this hour's rows.
                for other_key, share in shares.items():
                    _rollup_add(
                        organization_id=org_id,
                        api_key_id=other_key,
                        source=UsageSource.API,
                        metric=Metric.API_REQUESTS,
                        mode=mode,
                        hour=hour,
                        quantity=0,
                        amount=share,
                    )
            _rollup_add(
                organization_id=org_id,
                api_key_id=key_id,
                source=UsageSource.API,  # a request always came with its key (None only once it is deleted)
                metric=Metric.API_REQUESTS,
                mode=mode,
                hour=hour,
                quantity=value,
                amount=amount,
            )
    return True


# --- Retention of raw usage records ---------------------------------------------------------------


def usage_settled_before(now: datetime) -> datetime:
    """The start of the oldest month not yet settled: every month before it ended at least
    USAGE_RECORD_RETENTION_DAYS ago, so its charges are final and its raw records may go."""
    month = month_start(now - timedelta(days=settings.USAGE_RECORD_RETENTION_DAYS))
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def usage_records_prune(*, now: datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Drop the raw usage records past retention; returns how many went.

    Test-mode records (never billed) go TEST_USAGE_RETENTION_DAYS after they were made; live ones once
    their month is settled (`usage_settled_before`). Nothing needs rolling up first: `record_usage` and
    `usage_confirm` add every record to its hourly rollup in the same transaction, and every report,
    export and the reviewers' admin read the rollups (and the ledger), never the raw rows. Both windows
    are far longer than the minutes within which the same reference can be recorded again (README
    "Retention"), so a late duplicate still finds its raw row and charges nothing.
    """
    now = now or timezone.now()
    test_cutoff = now - timedelta(days=settings.TEST_USAGE_RETENTION_DAYS)
    deleted = delete_in_batches(UsageRecord.objects.filter(mode=Mode.TEST, created_at__lt=test_cutoff), batch=batch)
    live = UsageRecord.objects.filter(mode=Mode.LIVE, created_at__lt=usage_settled_before(now))
    deleted += delete_in_batches(live, batch=batch)
    if deleted:
        logger.info("pruned %d usage records past retention", deleted)
    return deleted
