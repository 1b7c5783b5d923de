from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import Organization
from accounts.ids import public_id_field

# Money is a Decimal in US dollars with six places, so per-attempt prices of a fraction of a cent
# stay exact. Never a float.
MONEY = {"max_digits": 16, "decimal_places": 6}


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

    def __str__(self) -> str:
        return f"Wallet of {self.organization}: ${self.balance:.2f}"


class LedgerEntry(models.Model):
    """One credit (positive) or debit (negative). The reference makes a charge idempotent."""

    public_id = public_id_field("txn")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200)
    reference = models.CharField(max_length=120, null=True, blank=True, unique=True)
    actor_label = models.CharField(max_length=200, blank=True)
    balance_after = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.amount:+} {self.reason}"


class Metric(models.TextChoices):
    API_REQUESTS = "api_requests", "API requests"
    WEBHOOK_ATTEMPTS = "webhook_attempts", "Webhook delivery attempts"
    TOOL_INVOCATIONS = "tool_invocations", "Custom-tool invocations"
    SMS_SEGMENTS = "sms_segments", "SMS segments"


class UsageRecord(models.Model):
    """One metered unit of work (a webhook attempt, a tool call, an SMS), idempotent on `reference`.

    API requests are not recorded here one by one: they are counted in Redis (or buffered) and
    flushed into rollups by a periodic task.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_records")
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    quantity = models.PositiveIntegerField()
    mode = models.CharField(max_length=4, choices=[("live", "Live"), ("test", "Test")])
    reference = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "metric", "created_at"], name="usage_org_metric_time")]

    def __str__(self) -> str:
        return f"{self.quantity} {self.metric} ({self.mode}) {self.reference}"
