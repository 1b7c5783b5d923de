from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from core.ids import public_id_field
from core.modes import Mode

from .keys import mask
from .log_codec import decode_path, decode_request_id, encode_path, encode_request_id
from .logging import redact_path


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None) -> ApiKeyQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A secret for the public API. Only the SHA-256 of the secret is stored; it is shown once."""

    public_id = public_id_field("key")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=Mode.choices)
    prefix = models.CharField(max_length=12)
    last4 = models.CharField(max_length=4)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-public_id"], name="apikey_org_page")]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        return mask(self.prefix, self.last4)

    def status(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            return "expired" if self.expires_at <= now else "expiring"
        return "active"

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.status(now) in ("active", "expiring")


class RequestIdField(models.BinaryField):
    """An `X-Request-Id`, a str in Python, packed into 12 bytes in the table (developer/log_codec.py)."""

    # For django-stubs: the model attribute is a str, not bytes.
    _pyi_private_set_type: str
    _pyi_private_get_type: str  # type: ignore[assignment]

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else decode_request_id(bytes(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        return encode_request_id(value) if isinstance(value, str) else value

    def value_to_string(self, obj: models.Model) -> str:
        return str(self.value_from_object(obj))


class ApiPathField(models.CharField):
    """A path under the API prefix, a whole path in Python, stored without the prefix (developer/log_codec.py)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else decode_path(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encode_path(value) if isinstance(value, str) else value


class HundredthsField(models.IntegerField):
    """Milliseconds with two decimals, a float in Python, stored as a 4-byte count of hundredths."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> float | None:
        return None if value is None else value / 100

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else round(float(value) * 100)


def _utc_today() -> date:
    return timezone.now().date()


class UserAgent(models.Model):
    """A `User-Agent` the request log has met, stored once: a handful of SDK versions make most requests.

    `last_seen_on` moves to the day of each flush that logs it (at most one update a day), so the
    request-log prune can delete the agents no kept row can name: without it a client sending a new
    agent on every request would grow this table without bound.
    """

    id = models.AutoField(primary_key=True)  # 4 bytes in every request-log row, not 8
    text = models.CharField(max_length=200, unique=True)
    last_seen_on = models.DateField(default=_utc_today)

    def __str__(self) -> str:
        return self.text


class RequestLog(models.Model):
    """One public-API request, as the Request logs page shows it. Written in batches, never on the request path.

    `request_id` is the `X-Request-Id` the caller received. Rows are unique on (request_id,
    created_at): both come from the buffered entry, so a batch flushed twice (a retried flush, two
    flushers racing) inserts each request once. The pair, not the id alone: on PostgreSQL the table
    is partitioned by `created_at` (migration 0008), and a unique constraint must include it. The
    same index finds a request by its id.

    Lean by design (about 290 bytes a row with its indexes on PostgreSQL, bench/storage_per_delivery.py):
    the request id is 12 bytes, not 28 characters; the path is stored without the API prefix; the
    user agent is an id into `UserAgent`; the latency a 4-byte integer. Columns go 8-byte first, then
    4, 2 and variable-length ones, so PostgreSQL pads nothing (migration 0009). Pages walk
    (organization, created_at, id), a key's requests (api_key, created_at), and the prune's time
    range has a BRIN index (migration 0007) instead of a B-tree.
    """

    created_at = models.DateTimeField()
    # The busiest insert of the platform: no database-level foreign keys (Django still cascades and
    # nulls on delete, and the flush drops rows of deleted organisations), and no index on
    # organization alone (both composite indexes start with it).
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="request_logs",
        db_constraint=False,
        db_index=False,
        help_text="Empty when the request named no key of any organisation.",
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False, db_index=False
    )
    latency_ms = HundredthsField(db_column="latency_hundredths")
    agent = models.ForeignKey(
        UserAgent,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    status_code = models.PositiveSmallIntegerField()
    request_id = RequestIdField(max_length=40)
    mode = models.CharField(max_length=4, choices=Mode.choices, blank=True)
    method = models.CharField(max_length=10)
    path = ApiPathField(max_length=500)
    query_string = models.CharField(max_length=1000, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    # Only for requests whose key matched none (a mistyped or deleted one): a matched key's mask is
    # its row's (masked_key), not 26 more bytes in every row. Keys are deleted only with their
    # organization, which takes its logs along.
    key_masked = models.CharField(max_length=40, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["request_id", "created_at"], name="reqlog_request_unique")]
        indexes = [
            # The id breaks ties in the page order: 8 bytes in the index where the request id took 29.
            models.Index(fields=["organization", "-created_at", "-id"], name="reqlog_org_time"),
            # A key belongs to one organization, so the key alone narrows as far; it also serves the SET NULL.
            models.Index(
                fields=["api_key", "-created_at"], condition=models.Q(api_key__isnull=False), name="reqlog_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.shown_path} → {self.status_code} ({self.request_id})"

    @property
    def user_agent(self) -> str:
        agent = self.agent if self.agent_id is not None else None
        return agent.text if agent is not None else ""

    @property
    def shown_path(self) -> str:
        """The path as pages show it: rows written before paths were redacted may still hold a key."""
        return redact_path(self.path)

    @property
    def masked_key(self) -> str:
        """The key as pages show it (``aip_live_••••abcd``), whether or not it matched one."""
        if self.key_masked or self.api_key_id is None:
            return self.key_masked
        key = self.api_key
        return key.masked if key is not None else ""

    @property
    def status_class(self) -> str:
        return f"{self.status_code // 100}xx"


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` a caller sent with a write, and the response it got (see developer/public_api/idempotency.py).

    Keys are scoped to the organisation and the key mode, so a test-mode retry can never replay a
    live response. `locked_at` is set while the first request is still running.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        COMPLETED = "completed", "Completed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and the canonical JSON body.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    locked_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_data = models.JSONField(null=True, blank=True)
    response_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # `response_data` holds a Fernet token (as a JSON string): a replayed key or webhook secret.
    encrypted_fields: ClassVar[tuple[str, ...]] = ("response_data",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "mode", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class AccessRequestQuerySet(models.QuerySet):
    def open(self) -> AccessRequestQuerySet:
        return self.filter(status=AccessRequest.Status.PENDING)


class AccessRequest(models.Model):
    """A business asking for the Developer Platform add-on during the beta; staff approve or deny it.

    At most one request per organisation is open (pending) at a time, enforced by the database;
    decided and withdrawn requests stay as history. State changes go through `developer.services`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Volume(models.TextChoices):
        UNDER_10K = "under_10k", "Under 10,000 requests a month"
        UP_TO_100K = "10k_100k", "10,000–100,000 requests a month"
        UP_TO_1M = "100k_1m", "100,000–1,000,000 requests a month"
        OVER_1M = "over_1m", "Over 1,000,000 requests a month"

    public_id = public_id_field("acr")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="access_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intended_use = models.TextField()
    expected_monthly_volume = models.CharField(max_length=12, choices=Volume.choices)
    contact_email = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_message = models.TextField(blank=True, help_text="Shown to the business and e-mailed to it.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=models.Q(status="pending"), name="access_request_one_open_per_org"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="access_request_org_time")]

    def __str__(self) -> str:
        return f"Access request from {self.organization} ({self.get_status_display().lower()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING
