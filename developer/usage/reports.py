"""Usage reports read from the hourly rollups: the one source for GET /usage, the dashboard and CSV.

Days are calendar days in UTC, like the free-quota month, so a report and the bill always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone as dj_timezone

from accounts.models import Organization
from billing.attribution import UsageSource
from billing.models import (
    LedgerEntry,
    Metric,
    Mode,
    MonthlyUsage,
    Subscription,
    UsageRollup,
    Wallet,
)
from billing.quota import days_between, month_start, next_month_start, runway_days
from developer.keys import mask

ZERO = Decimal("0")
METRICS: tuple[str, ...] = tuple(Metric.values)
MODES: tuple[str, ...] = (Mode.LIVE, Mode.TEST)

# Longest range one report covers; a year of daily rows is plenty for a chart or a CSV.
MAX_RANGE_DAYS = 366


@dataclass
class Amounts:
    quantity: int = 0
    amount: Decimal = ZERO

    def add(self, quantity: int, amount: Decimal) -> None:
        self.quantity += quantity
        self.amount += amount


def _per_metric() -> dict[str, Amounts]:
    return {metric: Amounts() for metric in METRICS}


@dataclass
class KeyUsage:
    """One row of usage by key: a key's, or, without one, the dashboard's or the system's (``source``)."""

    api_key_id: int | None
    public_id: str | None
    name: str
    masked: str
    key_mode: str | None
    source: str
    metrics: dict[str, Amounts] = field(default_factory=_per_metric)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.metrics.values()), ZERO)


@dataclass
class ModeUsage:
    by_metric: dict[str, Amounts]
    by_key: list[KeyUsage]
    by_day: dict[date, dict[str, Amounts]]

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.by_metric.values()), ZERO)


@dataclass(frozen=True)
class QuotaLine:
    metric: str
    included: int
    used: int
    remaining: int
    unit_price: Decimal
    unit_size: int


@dataclass
class UsageReport:
    start: date
    end: date
    modes: dict[str, ModeUsage]
    quota_month: date
    plan_code: str | None
    quota: list[QuotaLine]


@dataclass(frozen=True)
class WalletSummary:
    balance: Decimal
    month_spend: Decimal
    spend_last_7_days: Decimal
    runway_days: Decimal | None  # None: nothing spent in the last 7 days


@dataclass(frozen=True)
class BillingPeriod:
    """The billing month: the calendar month in UTC, whatever zone the business or viewer is in."""

    start: datetime  # first instant, UTC
    end: datetime  # first instant of the next month, UTC (exclusive)

    def local(self, zone: tzinfo) -> tuple[datetime, datetime]:
        return self.start.astimezone(zone), self.end.astimezone(zone)


def billing_period(now: datetime | None = None) -> BillingPeriod:
    month = month_start(now or dj_timezone.now())
    return BillingPeriod(
        start=datetime.combine(month, time.min, tzinfo=UTC),
        end=datetime.combine(next_month_start(month), time.min, tzinfo=UTC),
    )


def default_range(today: date | None = None) -> tuple[date, date]:
    """Month to date (UTC)."""
    today = today or dj_timezone.now().astimezone(UTC).date()
    return month_start(today), today


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def usage_report(
    *,
    organization: Organization,
    start: date,
    end: date,
    api_key_id: int | None = None,
    metrics: tuple[str, ...] = METRICS,
) -> UsageReport:
    """Totals and charges by metric, by key and by day for each mode, plus this month's free quota."""
    low, high = _bounds(start, end)
    rollups = UsageRollup.objects.filter(organization=organization, hour__gte=low, hour__lt=high, metric__in=metrics)
    if api_key_id is not None:
        rollups = rollups.filter(api_key_id=api_key_id)

    modes = {
        mode: ModeUsage(
            by_metric=_per_metric(), by_key=[], by_day={day: _per_metric() for day in days_between(start, end)}
        )
        for mode in MODES
    }
    rows = (
        rollups.values(
            "mode",
            "metric",
            "source",
            "api_key_id",
            "api_key__public_id",
            "api_key__name",
            "api_key__prefix",
            "api_key__last4",
            "api_key__mode",
        )
        .annotate(quantity=Sum("quantity"), charged=Sum("amount"))
        # Keys by name, then the usage no key caused (Dashboard, System), the same on every database.
        .order_by(F("api_key__name").asc(nulls_last=True), "api_key_id", "source")
    )
    keys: dict[tuple[str, int | None, str], KeyUsage] = {}
    for row in rows:
        mode = modes[row["mode"]]
        mode.by_metric[row["metric"]].add(row["quantity"], row["charged"])
        # A key's usage is one row; usage without a key is one row per cause (dashboard, system).
        slot = (row["mode"], row["api_key_id"], row["source"] if row["api_key_id"] is None else UsageSource.API)
        if slot not in keys:
            keys[slot] = _key_usage(row)
            mode.by_key.append(keys[slot])
        keys[slot].metrics[row["metric"]].add(row["quantity"], row["charged"])

    daily = (
        rollups.annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("mode", "metric", "day")
        .annotate(quantity=Sum("quantity"), charged=Sum("amount"))
    )
    for day_row in daily:
        modes[day_row["mode"]].by_day[day_row["day"]][day_row["metric"]].add(day_row["quantity"], day_row["charged"])

    month, plan_code, quota = free_quota(organization=organization)
    return UsageReport(start=start, end=end, modes=modes, quota_month=month, plan_code=plan_code, quota=quota)


# The names of usage without a key, by what caused it.
UNKEYED_NAMES: dict[str, str] = {
    UsageSource.SYSTEM: "System",
    UsageSource.DASHBOARD: "Dashboard",
    UsageSource.API: "Deleted API key",  # API usage whose key row is gone
}


def unkeyed_name(source: str) -> str:
    return UNKEYED_NAMES.get(source, "System")


def _key_usage(row: Mapping[str, Any]) -> KeyUsage:
    if row["api_key_id"] is None:
        return KeyUsage(
            api_key_id=None,
            public_id=None,
            name=unkeyed_name(row["source"]),
            masked="",
            key_mode=None,
            source=row["source"],
        )
    return KeyUsage(
        api_key_id=row["api_key_id"],
        public_id=row["api_key__public_id"],
        name=row["api_key__name"],
        masked=mask(row["api_key__prefix"], row["api_key__last4"]),
        key_mode=row["api_key__mode"],
        source=UsageSource.API,
    )


def free_quota(*, organization: Organization, today: date | None = None) -> tuple[date, str | None, list[QuotaLine]]:
    """This calendar month's free quota per metric: included by the plan, used by live usage, left."""
    month = month_start(today or dj_timezone.now())
    subscription = Subscription.objects.select_related("plan").filter(organization=organization).first()
    used = dict(MonthlyUsage.objects.filter(organization=organization, month=month).values_list("metric", "quantity"))
    lines = []
    for metric in METRICS:
        quantity = used.get(metric, 0)
        if subscription is None:
            lines.append(QuotaLine(metric, 0, 0, 0, ZERO, 1))
            continue
        terms = subscription.plan.terms(metric)
        lines.append(
            QuotaLine(
                metric=metric,
                included=terms.free,
                used=min(quantity, terms.free),
                remaining=max(0, terms.free - quantity),
                unit_price=terms.unit_price,
                unit_size=terms.unit_size,
            )
        )
    return month, (subscription.plan.code if subscription else None), lines


def wallet_summary(*, organization: Organization, now: datetime | None = None) -> WalletSummary:
    """Balance, this month's usage charges and the runway at the last seven days' burn (from the ledger)."""
    now = now or dj_timezone.now()
    balance = Wallet.objects.filter(organization=organization).values_list("balance", flat=True).first() or ZERO
    month_low = datetime.combine(month_start(now), time.min, tzinfo=UTC)
    week_low = now - timedelta(days=7)
    # Usage rows only (they carry a metric); a released reservation's refund nets out its charge.
    # By `dated_at` (when the usage happened), as the rollups are: a flush after midnight on the 1st
    # still counts the previous month's requests in the previous month.
    charges = LedgerEntry.objects.filter(wallet__organization=organization).exclude(metric="")
    totals = charges.filter(dated_at__gte=min(month_low, week_low), dated_at__lte=now).aggregate(
        month=Sum("amount", filter=Q(dated_at__gte=month_low)),
        week=Sum("amount", filter=Q(dated_at__gte=week_low)),
    )
    month_spend = -(totals["month"] or ZERO)
    week_spend = -(totals["week"] or ZERO)
    return WalletSummary(
        balance=balance,
        month_spend=month_spend,
        spend_last_7_days=week_spend,
        runway_days=runway_days(balance=balance, spend_last_7_days=week_spend),
    )


@dataclass(frozen=True)
class DailyRow:
    day: date
    key_public_id: str | None
    key_name: str
    key_mode: str | None
    source: str
    mode: str
    metric: str
    quantity: int
    amount: Decimal


def daily_usage_rows(
    *, organization: Organization, start: date, end: date, api_key_id: int | None = None
) -> list[DailyRow]:
    """Usage per UTC day, key, mode and metric (only combinations with usage), oldest first: the CSV export."""
    low, high = _bounds(start, end)
    rollups = UsageRollup.objects.filter(organization=organization, hour__gte=low, hour__lt=high)
    if api_key_id is not None:
        rollups = rollups.filter(api_key_id=api_key_id)
    rows = (
        rollups.annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("day", "api_key__public_id", "api_key__name", "api_key__mode", "source", "mode", "metric")
        .annotate(quantity=Sum("quantity"), charged=Sum("amount"))
        .order_by("day", "api_key__name", "api_key__public_id", "source", "mode", "metric")
    )
    return [
        DailyRow(
            day=row["day"],
            key_public_id=row["api_key__public_id"],
            key_name=row["api_key__name"] or unkeyed_name(row["source"]),
            key_mode=row["api_key__mode"],
            source=row["source"],
            mode=row["mode"],
            metric=row["metric"],
            quantity=row["quantity"],
            amount=row["charged"],
        )
        for row in rows
    ]
