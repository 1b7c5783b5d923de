"""Webhook endpoints, the event outbox, deliveries and their attempts.

The database is the only record of work: an ``Event`` and its ``Delivery`` rows are written in the
transaction that changed state, a delivery's ``next_attempt_at`` says when it is due, and a worker
claims it with a conditional update. The broker only carries delivery ids, so anything it loses is
found again by the sweep.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from accounts.models import Organization
from billing.attribution import SOURCE_MAX_LENGTH, Attribution, UsageSource, stored
from core.ids import public_id_field
from core.models import RotatingSecret
from core.modes import Mode

ALL_MODES = [Mode.LIVE.value, Mode.TEST.value]


def all_modes() -> list[str]:
    return list(ALL_MODES)


class Endpoint(RotatingSecret):
    """A customer URL that receives signed events of the types it subscribed to (or ``*``).

    Its signing secret (``RotatingSecret``) is Fernet-encrypted by ``core.crypto``; during a
    rotation the previous one still signs."""

    public_id = public_id_field("whk")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=500, blank=True)
    events = models.JSONField(default=list, help_text='Subscribed event types, or ["*"] for all.')
    modes = models.JSONField(
        default=all_modes, help_text='Which events it receives: ["live"], ["test"] or both (the default).'
    )
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)

    # Health, updated by every finished attempt.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success."
    )
    # In the slow lane (its own queue and workers) since its last attempt timed out or answered slowly;
    # back in the fast lane after a quick answer (webhooks/delivery.py).
    slow_since = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-public_id"], name="whk_org_page")]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    @property
    def lane(self) -> str:
        return "slow" if self.slow_since else "fast"

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events

    def receives_mode(self, mode: str) -> bool:
        return mode in self.modes

    @property
    def modes_label(self) -> str:
        """How the dashboard names ``modes``: "Live and test", "Live only" or "Test only"."""
        if len(self.modes) > 1:
            return "Live and test"
        return "Live only" if self.modes == [Mode.LIVE.value] else "Test only"

    @property
    def modes_choice(self) -> str:
        """``modes`` as the dashboard form's radio value: "both", "live" or "test"."""
        return "both" if len(self.modes) > 1 else self.modes[0]

    def disable(self, *, reason: str, now: datetime | None = None) -> None:
        self.enabled = False
        self.disabled_at = now or timezone.now()
        self.disabled_reason = reason[:500]
        self.save(update_fields=["enabled", "disabled_at", "disabled_reason", "updated_at"])


class Event(models.Model):
    """One announced change. ``body`` holds the exact JSON bytes every delivery of it sends."""

    public_id = public_id_field("evt")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=64)
    mode = models.CharField(max_length=4, choices=[("live", "Live"), ("test", "Test")])
    # Who caused it (billing.attribution): its deliveries are metered under that key, or as the
    # dashboard's or the system's.
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=SOURCE_MAX_LENGTH, choices=UsageSource.choices, default=UsageSource.SYSTEM)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="evt_org_created")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    @property
    def caused_by(self) -> Attribution:
        return stored(self.source, self.api_key_id)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def is_live(self) -> bool:
        return self.mode == "live"


class Delivery(models.Model):
    """One event on its way to one endpoint, across all of its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # due at next_attempt_at (first try or a retry)
        HELD = "held", "Held"  # a live organisation's wallet is empty; waits for funds
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # retries exhausted, 410, or the endpoint was disabled
        EXPIRED = "expired", "Expired"  # held for longer than the hold limit

    public_id = public_id_field("del")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # No database-level constraint on links to events and deliveries: on PostgreSQL those tables are
    # partitioned by time (a foreign key would need the partition key). Django still cascades and
    # nulls on delete; retention drops an event's partition only once no delivery refers to it, and
    # nulls a replay's link before dropping the original (webhooks/delivery.py, deliveries_prune).
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays", db_constraint=False
    )
    # Whose usage its attempts are: the event's cause, or whoever asked for a replay.
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=SOURCE_MAX_LENGTH, choices=UsageSource.choices, default=UsageSource.SYSTEM)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=500, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on the row: a short lease, renewed while its request is in flight; a claim that
    # outlives it was lost with its worker. The token names the claim, so only its holder records the result.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # When it last entered the queue: created, released from a hold, or its retry's due time.
    queued_at = models.DateTimeField(null=True, blank=True)
    held_since = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-public_id"], name="del_endpoint_page"),
            models.Index(fields=["status", "next_attempt_at"], name="del_due"),
            models.Index(fields=["organization", "status", "created_at"], name="del_org_status"),
            # The claim: an endpoint's due deliveries, oldest first; finished rows are not in it.
            models.Index(
                fields=["endpoint", "next_attempt_at"], condition=models.Q(status="pending"), name="del_endpoint_due"
            ),
            # Requests in flight per endpoint, and leases the sweep must recover: only claimed rows.
            models.Index(
                fields=["endpoint", "claimed_until"],
                condition=models.Q(claimed_until__isnull=False),
                name="del_claimed",
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    @property
    def caused_by(self) -> Attribution:
        return stored(self.source, self.api_key_id)

    @property
    def is_terminal(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.EXPIRED)


class Attempt(models.Model):
    """One HTTP request of a delivery: what was sent (no secrets) and what came back."""

    public_id = public_id_field("att")
    # No database-level constraint: deliveries are partitioned by time on PostgreSQL (see Delivery.event).
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts", db_constraint=False)
    number = models.PositiveIntegerField()
    request_url = models.CharField(max_length=2048)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # How long the delivery waited from due to this attempt's claim (the sending time is duration_ms).
    queued_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error_class = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number", "id"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")]

    def __str__(self) -> str:
        return f"{self.delivery.public_id} #{self.number}"
