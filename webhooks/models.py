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
from core.fields import CompressedTextField
from core.ids import public_id_field
from core.models import RotatingSecret
from core.modes import Mode

from . import wire

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
    """One announced change. ``body`` holds the exact JSON text every delivery of it sends, stored
    compressed (about 60 % of its size), once for all deliveries and attempts."""

    public_id = public_id_field("evt", unique=False)  # unique by the constraint below
    # No index on organization alone (evt_org_created starts with it); api_key is mostly empty.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_events", db_index=False
    )
    type = models.CharField(max_length=64)
    mode = models.CharField(max_length=4, choices=[("live", "Live"), ("test", "Test")])
    # Who caused it (billing.attribution): its deliveries are metered under that key, or as the
    # dashboard's or the system's.
    api_key = models.ForeignKey(
        "developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    source = models.CharField(max_length=SOURCE_MAX_LENGTH, choices=UsageSource.choices, default=UsageSource.SYSTEM)
    body = CompressedTextField()
    # evt_org_created serves the pages and the event log; the prune's time range has a BRIN index on
    # PostgreSQL (migration 0008).
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [models.UniqueConstraint(fields=["public_id"], name="evt_public_id_unique")]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="evt_org_created"),
            models.Index(fields=["api_key"], condition=models.Q(api_key__isnull=False), name="evt_api_key"),
        ]

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

    public_id = public_id_field("del", unique=False)  # unique by the constraint below
    # No single-column indexes on organization and endpoint: del_org_unfinished and del_endpoint_page start
    # with them. replay_of and api_key are mostly empty: partial indexes below (for the SET NULLs).
    # DO_NOTHING: an organization's deliveries go with its endpoints (each delivery's endpoint is of the
    # same organization), so deleting one never searches deliveries by organization, which only the
    # partial del_org_unfinished indexes; the database's foreign key still refuses to orphan a row.
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, related_name="webhook_deliveries", db_index=False
    )
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # No database-level constraint on links to events and deliveries: on PostgreSQL those tables are
    # partitioned by time (a foreign key would need the partition key). Django still cascades and
    # nulls on delete; retention drops an event's partition only once no delivery refers to it, and
    # nulls a replay's link before dropping the original (webhooks/retention.py).
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False)
    replay_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replays",
        db_index=False,
        db_constraint=False,
    )
    # Whose usage its attempts are: the event's cause, or whoever asked for a replay.
    api_key = models.ForeignKey(
        "developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
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
    # Pages filter by endpoint or organization first; the prune's time range has a BRIN index on
    # PostgreSQL (migration 0008), a fraction of a B-tree's size on rows written in time order.
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [models.UniqueConstraint(fields=["public_id"], name="del_public_id_unique")]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-public_id"], name="del_endpoint_page"),
            # The sweep's and the dashboards' unfinished rows only: finished ones are most of the table.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=models.Q(status__in=["pending", "held"]),
                name="del_unfinished",
            ),
            # An organization's pending and held rows (its turns, its holds): finished ones are not in it.
            models.Index(
                fields=["organization", "status", "created_at"],
                condition=models.Q(status__in=["pending", "held"]),
                name="del_org_unfinished",
            ),
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
            models.Index(fields=["replay_of"], condition=models.Q(replay_of__isnull=False), name="del_replay_of"),
            models.Index(fields=["api_key"], condition=models.Q(api_key__isnull=False), name="del_api_key"),
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
    """One HTTP request of a delivery: what came back, and the few parts of what was sent that differ
    from one attempt to the next. The body sent is the event's and the headers are rebuilt from the
    event, the delivery and the stored signature (``webhooks.wire``), so the delivery log shows
    exactly what went out without a copy of the payload and headers in every attempt."""

    # The random id attempts made before migration 0009 were given (their API id and usage reference);
    # newer ones have none stored, their id follows from the delivery's (see public_id).
    legacy_public_id = models.CharField(max_length=40, blank=True, default="", editable=False, db_column="public_id")
    # No index of its own: the (delivery, number) constraint's index starts with it. No database-level
    # constraint: deliveries are partitioned by time on PostgreSQL (see Delivery.event).
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts", db_index=False, db_constraint=False
    )
    number = models.PositiveSmallIntegerField()
    request_url = models.CharField(max_length=2048)
    # The X-AIP-Signature header's v1 digests (32 bytes per secret that signed); its t= is started_at's second.
    signature = models.BinaryField(null=True, blank=True)
    # Set only for attempts that did not send the standard headers or their event's body (older rows
    # kept as they were by migration 0005); null means "rebuilt", see request_headers and request_body.
    request_headers_override = models.JSONField(null=True, blank=True)
    request_body_override = models.TextField(null=True, blank=True)  # noqa: DJ001 (null: none; "" was sent)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # How long the delivery waited from due to this attempt's claim (the sending time is duration_ms).
    queued_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error_class = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # Indexed with a BRIN index on PostgreSQL (migration 0005): rows arrive in time order, so a few
    # pages of summaries answer the 24-hour health query at a fraction of a B-tree's size.
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number", "id"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")]

    def __str__(self) -> str:
        return f"{self.delivery.public_id} #{self.number}"

    @property
    def public_id(self) -> str:
        """``att_`` and the delivery's random part and the number: unique as (delivery, number) is, and
        never equal to a legacy id (those have exactly 22 characters after the prefix)."""
        return self.legacy_public_id or f"att_{self.delivery.public_id.removeprefix('del_')}{self.number}"

    @property
    def signature_header(self) -> str:
        return wire.signature_header(bytes(self.signature or b""), timestamp=int(self.started_at.timestamp()))

    @property
    def request_headers(self) -> dict[str, str]:
        """Exactly the headers this attempt sent (the signature, never the secret)."""
        if self.request_headers_override is not None:
            return dict(self.request_headers_override)
        delivery = self.delivery
        event = delivery.event
        return wire.request_headers(
            signature=self.signature_header,
            event_id=event.public_id,
            event_type=event.type,
            mode=event.mode,
            delivery_id=delivery.public_id,
            number=self.number,
        )

    @property
    def request_body(self) -> str:
        """Exactly the body this attempt sent: its event's."""
        if self.request_body_override is not None:
            return self.request_body_override
        return self.delivery.event.body
