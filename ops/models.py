"""Business alerts: one row per condition while it holds, the members' opt-outs, the owner's wallet threshold."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Organization
from billing.models import MONEY


class AlertKind(models.TextChoices):
    ENDPOINT_FAILING = "endpoint_failing", "A webhook endpoint has failed for a day"
    ENDPOINT_DISABLING = "endpoint_disabling", "A webhook endpoint will be disabled tomorrow"
    ENDPOINT_DISABLED = "endpoint_disabled", "A webhook endpoint was disabled"
    LOW_BALANCE = "low_balance", "Wallet balance below your threshold"
    OUT_OF_CREDITS = "out_of_credits", "Out of credits"
    KEY_UNUSED = "key_unused", "An API key unused for 90 days"


class Alert(models.Model):
    """A condition of one organisation, from when it was found until it ended (`cleared_at`).

    At most one open row per (organisation, kind, subject): that is what makes each alert e-mailed once
    per condition. A condition that ends and comes back later opens a new row (and a new e-mail)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    subject = models.CharField(max_length=64, help_text="What it is about: a whk_ or key_ id, or 'wallet'.")
    title = models.CharField(max_length=200)
    message = models.TextField()
    link = models.CharField(max_length=200, blank=True, help_text="Dashboard path where it can be fixed.")
    opened_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.PositiveSmallIntegerField(default=0, help_text="Members it was e-mailed to.")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "subject"], condition=Q(cleared_at__isnull=True), name="alert_open_once"
            )
        ]
        indexes = [models.Index(fields=["organization", "cleared_at"], name="alert_org_open")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} ({'cleared' if self.cleared_at else 'open'})"


class AlertOptOut(models.Model):
    """A member who does not want one kind of alert (neither the e-mail nor the dashboard notice)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="alert_opt_outs")
    kind = models.CharField(max_length=24, choices=AlertKind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "kind"], name="alert_opt_out_once")]

    def __str__(self) -> str:
        return f"{self.membership} opted out of {self.kind}"


class AlertSettings(models.Model):
    """The organisation's alert settings: the wallet balance under which owners and admins are warned."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="alert_settings")
    low_balance_threshold = models.DecimalField(**MONEY, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"Alert settings of {self.organization}"


class Operations(Alert):
    """No table of its own: the admin entry whose page is the staff operations overview (ops/admin.py)."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "operations"
