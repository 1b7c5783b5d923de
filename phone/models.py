"""The records an AI Phone 360 business produces: calls, their transcripts and recordings, contacts,
text messages, voicemails, appointments, and the AI receptionist's configuration.

Rows change only through `phone.services`, so events, metering and compliance are the same
whichever door (public API, simulator, carrier webhook, admin) a change comes through.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone

from accounts.models import Organization
from core.ids import public_id_field
from core.modes import MODE_MAX_LENGTH, Mode

from .phone_numbers import search_variants
from .sms_keywords import QUIET_HOURS_DEFAULT_END, QUIET_HOURS_DEFAULT_START

_PHONE_PUNCTUATION = frozenset(" +-().\u00a0/")


def number_search(term: str, *, region: str, fields: tuple[str, ...]) -> models.Q | None:
    """Match stored E.164 numbers against a number typed in any common format.

    Only input that looks like a phone number (digits and phone punctuation, at least three digits)
    is compared with numbers, so a text search such as "room 5" does not match every number with a 5.
    """
    digits = sum(ch.isdigit() for ch in term)
    if digits < 3 or any(not ch.isdigit() and ch not in _PHONE_PUNCTUATION for ch in term):
        return None
    query = models.Q()
    for variant in search_variants(term, default_region=region):
        for field in fields:
            query |= models.Q(**{f"{field}__contains": variant})
    return query or None


def mode_field() -> models.CharField:
    """Live or test: a test key reads and writes test rows only, a live key live rows only."""
    return models.CharField(max_length=MODE_MAX_LENGTH, choices=Mode.choices, default=Mode.LIVE)


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class BusinessNumber(models.Model):
    """A phone number the business owns on the platform; calls arrive on it and texts leave from it."""

    public_id = public_id_field("pn")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="phone_numbers")
    # A number belongs to one business at a time: carrier webhooks are routed by it.
    e164 = models.CharField("number (E.164)", max_length=20, unique=True)
    label = models.CharField(max_length=100, blank=True)
    sms_capable = models.BooleanField(default=True)
    voice_capable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.e164


class ContactQuerySet(models.QuerySet):
    def search(self, term: str, *, region: str) -> ContactQuerySet:
        query = models.Q(name__icontains=term) | models.Q(email__icontains=term) | models.Q(company__icontains=term)
        numbers = number_search(term, region=region, fields=("phone_number",))
        return self.filter(query | numbers if numbers is not None else query)


class Contact(models.Model):
    public_id = public_id_field("con")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    mode = mode_field()
    phone_number = models.CharField(max_length=20, help_text="E.164")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    company = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [
            # The same person can be a live contact and a test contact.
            models.UniqueConstraint(
                fields=["organization", "mode", "phone_number"], name="contact_unique_number_per_org_mode"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "mode", "-created_at", "-public_id"], name="contact_org_mode_page")
        ]

    def __str__(self) -> str:
        return self.name or self.phone_number


class SmsOptOut(models.Model):
    """A number that texted STOP (or another opt-out keyword) to the business.

    Kept per number rather than per contact: an opt-out binds whoever holds the number, whether
    or not the business ever saved them as a contact. START/YES/UNSTOP deletes the row. Per mode: a
    STOP a simulated test text sends never blocks a live text, and test contacts show test opt-outs.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sms_opt_outs")
    mode = mode_field()
    phone_number = models.CharField(max_length=20)
    keyword = models.CharField(max_length=20)
    opted_out_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "phone_number"], name="sms_opt_out_unique_per_mode")
        ]
        verbose_name = "SMS opt-out"

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.keyword})"


class CallQuerySet(models.QuerySet):
    def search(self, term: str, *, region: str) -> CallQuerySet:
        """Caller or callee number in any common format, contact name, or summary text."""
        query = models.Q(summary__icontains=term) | models.Q(contact__name__icontains=term)
        numbers = number_search(term, region=region, fields=("from_number", "to_number"))
        return self.filter(query | numbers if numbers is not None else query)


class Call(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        MISSED = "missed", "Missed"
        VOICEMAIL = "voicemail", "Voicemail"
        FAILED = "failed", "Failed"

    class Outcome(models.TextChoices):
        APPOINTMENT_BOOKED = "appointment_booked", "Appointment booked"
        QUESTION_ANSWERED = "question_answered", "Question answered"
        MESSAGE_TAKEN = "message_taken", "Message taken"
        TRANSFERRED = "transferred", "Transferred to staff"
        VOICEMAIL = "voicemail", "Voicemail left"
        SPAM = "spam", "Spam"
        ABANDONED = "abandoned", "Caller hung up"

    public_id = public_id_field("call")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="calls")
    # Transcript, recording, voicemail and appointments follow their call's mode.
    mode = mode_field()
    direction = models.CharField(max_length=8, choices=Direction.choices)
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    # The AI agent that handled the call, copied at the time (agents may later be renamed or deleted).
    agent_public_id = models.CharField(max_length=40, blank=True)
    agent_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-public_id"]
        indexes = [
            models.Index(fields=["organization", "mode", "-started_at", "-public_id"], name="call_org_mode_page")
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.from_number} → {self.to_number}"

    @property
    def counterpart_number(self) -> str:
        """The other party's number: the caller for inbound calls, the callee for outbound ones."""
        return self.from_number if self.direction == Direction.INBOUND else self.to_number


class TranscriptTurn(models.Model):
    class Speaker(models.TextChoices):
        AGENT = "agent", "AI agent"
        CALLER = "caller", "Caller"
        STAFF = "staff", "Staff"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    position = models.PositiveIntegerField()
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField()
    offset_ms = models.PositiveIntegerField(help_text="Milliseconds from the start of the call.")

    class Meta:
        ordering = ["call", "position"]
        constraints = [models.UniqueConstraint(fields=["call", "position"], name="turn_unique_position")]

    def __str__(self) -> str:
        return f"{self.speaker}: {self.text[:60]}"


def _recording_path(instance: Recording, filename: str) -> str:
    return f"recordings/{instance.call.organization.public_id}/{instance.public_id}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:] if dot != -1 else ""


class Recording(models.Model):
    """The call audio, stored in the default storage and served only through a signed, expiring URL."""

    public_id = public_id_field("rec")
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="recording")
    audio = models.FileField(upload_to=_recording_path, max_length=300)
    content_type = models.CharField(max_length=50, default="audio/wav")
    duration_seconds = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Recording of {self.call.public_id}"


class Voicemail(models.Model):
    public_id = public_id_field("vm")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="voicemails")
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="voicemail")
    from_number = models.CharField(max_length=20)
    transcription = models.TextField(blank=True)
    duration_seconds = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-public_id"]

    def __str__(self) -> str:
        return f"Voicemail from {self.from_number}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    public_id = public_id_field("apt")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="appointments")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="appointments")
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    service = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-public_id"]

    def __str__(self) -> str:
        return f"{self.service} at {self.starts_at:%Y-%m-%d %H:%M}"


class Message(models.Model):
    """One text message, inbound or outbound, as the carrier saw it (or, in test mode, would have)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"  # stored, not yet accepted by the carrier
        SENT = "sent", "Sent"  # accepted by the carrier (or a synthetic test-mode success)
        DELIVERED = "delivered", "Delivered"  # the carrier confirmed delivery to the handset
        FAILED = "failed", "Failed"  # refused by the carrier, before or after accepting it
        UNDELIVERED = "undelivered", "Undelivered"  # accepted, but the carrier could not deliver it
        RECEIVED = "received", "Received"

    # How far along the lifecycle each status is: a carrier's status callback may only move a message
    # forward (callbacks arrive out of order and are retried), and the last three are final.
    STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2, "undelivered": 2, "received": 2}

    public_id = public_id_field("msg")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    mode = mode_field()
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    body = models.TextField()
    encoding = models.CharField(max_length=5)
    segments = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider_message_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [
            models.Index(fields=["organization", "mode", "-created_at", "-public_id"], name="message_org_mode_page")
        ]
        constraints = [
            # A carrier retrying its webhook must not store the same inbound text twice.
            models.UniqueConstraint(
                fields=["direction", "provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="message_unique_provider_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} SMS {self.from_number} → {self.to_number}"


class KnowledgeBase(models.Model):
    """A body of business knowledge the AI searches (RAG), made of documents. Agents may be scoped to
    some of them. Shared by both modes: it is the business's content, not something a key creates."""

    public_id = public_id_field("kb")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="knowledge_bases")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KnowledgeDocument(models.Model):
    """One document of a knowledge base (a price list, an FAQ page, a policy)."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    content = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["knowledge_base", "title", "id"]

    def __str__(self) -> str:
        return self.title


class AiConfig(models.Model):
    """The AI receptionist's settings. The public API reads and writes only a curated subset.

    One row per mode: the live one, and a test copy made from it the first time a test key reads or
    changes it (`phone.services.ai_config_for`), so nothing done in test mode changes live calls or
    live texts. The live business time zone lives on `Organization.timezone` (one source of truth for
    quiet hours, date filters and the AI); the test copy keeps its own in `test_timezone`. The
    payments, spam and PII settings below are never exposed.
    """

    class CallHandlingMode(models.TextChoices):
        AI_FIRST = "ai_first", "AI answers every call"
        FORWARD_FIRST = "forward_first", "Ring staff first, AI answers if nobody picks up"
        AFTER_HOURS_ONLY = "after_hours_only", "AI answers outside business hours only"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ai_configs")
    mode = mode_field()
    # Test copy only (blank on the live row): the time zone a test key set, leaving the business's alone.
    test_timezone = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=16, default="en-US")
    call_handling_mode = models.CharField(
        max_length=20, choices=CallHandlingMode.choices, default=CallHandlingMode.AI_FIRST
    )
    greeting = models.CharField(max_length=500, default="Thanks for calling! How can I help you today?")
    business_hours = models.JSONField(default=dict, blank=True)
    voicemail_enabled = models.BooleanField(default=True)
    sms_help_reply = models.CharField(
        max_length=320,
        blank=True,
        help_text="Reply to a HELP text. Empty: a standard reply naming the business.",
    )
    sms_quiet_hours_start = models.TimeField(default=QUIET_HOURS_DEFAULT_START)
    sms_quiet_hours_end = models.TimeField(default=QUIET_HOURS_DEFAULT_END)

    # Sensitive: changed only by the business in the app or by staff, never through the public API.
    payments_enabled = models.BooleanField(default=False)
    payment_link_max_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    spam_filter_level = models.CharField(max_length=10, default="medium")
    spam_blocked_numbers = models.JSONField(default=list, blank=True)
    pii_redaction_enabled = models.BooleanField(default=True)
    pii_retention_days = models.PositiveIntegerField(default=365)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI config"
        constraints = [models.UniqueConstraint(fields=["organization", "mode"], name="ai_config_one_per_mode")]

    def __str__(self) -> str:
        return f"AI config of {self.organization}" + (" (test)" if self.mode == Mode.TEST else "")

    @property
    def zone_name(self) -> str:
        """The IANA time zone this mode's quiet hours and AI read."""
        return self.test_timezone or self.organization.timezone

    @property
    def quiet_hours(self) -> tuple[datetime.time, datetime.time]:
        return self.sms_quiet_hours_start, self.sms_quiet_hours_end
