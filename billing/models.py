from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from core.ids import public_id_field
from core.modes import Mode

from .attribution import SOURCE_MAX_LENGTH, UsageSource
from .quota import API_REQUEST_BLOCK


# Money is a Decimal in US dollars with six places, so per-attempt prices of a fraction of a cent
# stay exact. Never a float.
class _DecimalDigits(TypedDict):
    max_digits: int
    decimal_places: int


MONEY: _DecimalDigits = {"max_digits": 16, "decimal_places": 6}


class Metric(models.TextChoices):
    API_REQUESTS = "api_requests", "API requests"
    WEBHOOK_ATTEMPTS = "webhook_attempts", "Webhook delivery attempts"
    TOOL_INVOCATIONS = "tool_invocations", "Custom-tool invocations"
    SMS_SEGMENTS = "sms_segments", "SMS segments"


@dataclass(frozen=True)
class MetricTerms:
    free: int
    unit_price: Decimal
    unit_size: int


# metric → (free-quota field, price field, units per charge). API requests are sold per 1,000.
_PLAN_FIELDS: dict[str, tuple[str, str, int]] = {
    Metric.API_REQUESTS: ("api_requests_free", "api_request_block_price", API_REQUEST_BLOCK),
    Metric.WEBHOOK_ATTEMPTS: ("webhook_attempts_free", "webhook_attempt_price", 1),
    Metric.TOOL_INVOCATIONS: ("tool_invocations_free", "tool_invocation_price", 1),
    Metric.SMS_SEGMENTS: ("sms_segments_free", "sms_segment_price", 1),
}


class Plan(models.Model):
    """A subscription plan. Staff edit the rates in admin; charges copy the rate they were made at."""

    class Code(models.TextChoices):
        BASIC = "BASIC", "Basic"
        PRO = "PRO", "Pro"
        ENTERPRISE = "ENTERPRISE", "Enterprise"

    code = models.CharField(max_length=20, choices=Code.choices, unique=True)
    name = models.CharField(max_length=60)
    rate_limit_per_minute = models.PositiveIntegerField(help_text="Public API requests per key per minute.")
    api_requests_free = models.PositiveIntegerField(help_text="API requests free each calendar month.")
    api_request_block_price = models.DecimalField(**MONEY, help_text="Price of each block of 1,000 requests.")
    webhook_attempts_free = models.PositiveIntegerField()
    webhook_attempt_price = models.DecimalField(**MONEY)
    tool_invocations_free = models.PositiveIntegerField()
    tool_invocation_price = models.DecimalField(**MONEY)
    sms_segments_free = models.PositiveIntegerField()
    sms_segment_price = models.DecimalField(**MONEY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rate_limit_per_minute"]

    def __str__(self) -> str:
        return self.name

    def terms(self, metric: str) -> MetricTerms:
        """The free quota, unit price and unit size this plan charges `metric` at, as of now."""
        free_field, price_field, unit_size = _PLAN_FIELDS[metric]
        return MetricTerms(free=getattr(self, free_field), unit_price=getattr(self, price_field), unit_size=unit_size)


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization} on {self.plan} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class PlatformAddon(models.Model):
    """The Developer Platform add-on. During the beta our staff grant it; who and when is kept."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="platform_addon")
    granted_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Developer Platform for {self.organization}"

    @property
    def is_active(self) -> bool:
        return self.granted_at is not None and self.revoked_at is None


class Wallet(models.Model):
    """The organisation's credit wallet. `balance` is a cache of the ledger sum, moved only by services."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="wallet")
    balance = models.DecimalField(**MONEY, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("add_funds", "Can add funds to a wallet")]

    def __str__(self) -> str:
        return f"Wallet of {self.organization}: ${self.balance:.2f}"


class LedgerEntry(models.Model):
    """One credit (positive) or debit (negative). The reference makes a charge idempotent.

    A usage charge also records what it was for — metric, key, units and the unit price copied
    from the plan at that moment — so a later price change never rewrites a past charge.
    """

    public_id = public_id_field("txn")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200)
    reference = models.CharField(max_length=120, null=True, blank=True, unique=True)
    actor_label = models.CharField(max_length=200, blank=True)
    balance_after = models.DecimalField(**MONEY)
    metric = models.CharField(max_length=20, choices=Metric.choices, blank=True)
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Units charged (blocks for API requests).")
    unit_price = models.DecimalField(**MONEY, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # One date per charge: a usage charge is dated when the usage it bills happened (requests of Jan 31
    # 23:xx flushed at 00:00:30 on Feb 1 are January's), so the month's report, the ledger, the wallet's
    # month-to-date spend and every CSV put it in the same period. Credits are dated when posted.
    dated_at = models.DateTimeField(
        default=timezone.now, help_text="The moment this entry belongs to (for a charge: when its usage happened)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["wallet", "created_at"], name="ledger_wallet_time"),
            models.Index(fields=["wallet", "dated_at"], name="ledger_wallet_dated"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} {self.reason}"


class UsageRecord(models.Model):
    """One metered unit of work (a webhook attempt, a tool call, an SMS), idempotent on `reference`.

    API requests are not recorded here one by one: they are counted in Redis (or buffered) and
    flushed into rollups by a periodic task.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_records")
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What caused it (billing.attribution): a key's request ("api"), the dashboard or the system.
    source = models.CharField(max_length=SOURCE_MAX_LENGTH, choices=UsageSource.choices, default=UsageSource.SYSTEM)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    quantity = models.PositiveIntegerField()
    mode = models.CharField(max_length=4, choices=Mode.choices)
    reference = models.CharField(max_length=120, unique=True)
    amount = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="What this usage was charged (0 while free or in test mode)."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "metric", "created_at"], name="usage_org_metric_time")]

    def __str__(self) -> str:
        return f"{self.quantity} {self.metric} ({self.mode}) {self.reference}"


class UsageRollup(models.Model):
    """Usage and charges per organisation, key, metric, mode and UTC hour: what every usage report reads.

    API requests arrive here from the Redis counters (or the in-process buffer) by a periodic flush;
    every other metric is added by `record_usage` in the same transaction as its usage record.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_rollups")
    # RESTRICT: a key with usage history is revoked, not deleted (deleting its organisation still works).
    api_key = models.ForeignKey(
        "developer.ApiKey", null=True, blank=True, on_delete=models.RESTRICT, related_name="usage_rollups"
    )
    # Without a key, who caused it: the dashboard or the system ("api" always names its key).
    source = models.CharField(max_length=SOURCE_MAX_LENGTH, choices=UsageSource.choices, default=UsageSource.SYSTEM)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    mode = models.CharField(max_length=4, choices=Mode.choices)
    hour = models.DateTimeField(help_text="Start of the UTC hour.")
    quantity = models.PositiveBigIntegerField(default=0)
    amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="Charged for this usage.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-hour", "organization_id", "metric"]
        constraints = [
            # Two partial constraints because NULLs are distinct in a plain unique index.
            models.UniqueConstraint(
                fields=["organization", "api_key", "metric", "mode", "hour"],
                condition=models.Q(api_key__isnull=False),
                name="rollup_unique_with_key",
            ),
            models.UniqueConstraint(
                fields=["organization", "source", "metric", "mode", "hour"],
                condition=models.Q(api_key__isnull=True),
                name="rollup_unique_without_key_by_source",
            ),
        ]
        indexes = [models.Index(fields=["organization", "hour"], name="rollup_org_hour")]

    def __str__(self) -> str:
        return f"{self.quantity} {self.metric} ({self.mode}) at {self.hour:%Y-%m-%d %H}:00"


class MonthlyUsage(models.Model):
    """Live usage of one metric in one calendar month (UTC): the free-quota counter.

    Its row lock serialises the charges of one organisation and metric, so concurrent workers agree
    on which unit crossed the free quota and each billable unit is charged exactly once.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="monthly_usage")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    month = models.DateField(help_text="First day of the month.")
    quantity = models.PositiveBigIntegerField(default=0)
    billed_units = models.PositiveBigIntegerField(
        default=0, help_text="Units charged so far (blocks for API requests)."
    )
    # API requests only: the billable requests of the block being filled, per key id ("" for none), so a
    # completed block's charge is split among the keys whose requests filled it.
    open_block = models.JSONField(default=dict, blank=True)
    # Set by a plan change mid-month (billing.services.subscription_set): the count of free units that makes
    # what was used before the change keep its terms and leaves the new plan's quota minus what was used.
    free_units = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Effective free units after a plan change this month (empty: the plan's)."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "metric", "month"], name="monthly_usage_unique")]
        verbose_name_plural = "monthly usage"

    def __str__(self) -> str:
        return f"{self.organization_id} {self.metric} {self.month:%Y-%m}: {self.quantity}"


class FlushBatch(models.Model):
    """One applied flush of API-request counters. Its unique id makes re-running a flush a no-op."""

    batch_id = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=10)
    requests = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "flush batches"

    def __str__(self) -> str:
        return f"{self.batch_id} ({self.requests} requests)"
