"""Custom tools, their invocations, the business's tool-call signing secret, AI agents and
data-collection fields.

Credentials and signing secrets are stored Fernet-encrypted (core/crypto.py) and never leave the
server except in the requests they authenticate: the API and the admin show them masked.
"""

from __future__ import annotations

import base64
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from billing.attribution import DASHBOARD, SYSTEM, Attribution, UsageSource, stored
from core import crypto
from core.ids import public_id_field
from core.models import RotatingSecret
from core.modes import MODE_MAX_LENGTH, Mode

MASK = "••••"
# A tool's hard deadline may be set from 1 to 10 seconds (the public contract's "~10 seconds").
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 1, 10


def mask_secret(secret: str) -> str:
    """``••••abcd``: the last four characters, only when the secret is long enough to spare them."""
    return MASK + secret[-4:] if len(secret) >= 12 else MASK


class CustomTool(models.Model):
    """A business endpoint the AI may call during a conversation, described by a JSON Schema."""

    class AuthType(models.TextChoices):
        NONE = "none", "None"
        BEARER = "bearer", "Bearer token"
        HEADER = "header", "Custom header"
        BASIC = "basic", "Basic auth"

    public_id = public_id_field("tool")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="custom_tools")
    # Test and live definitions never meet: a key, a call and the dashboard switch see one mode only.
    mode = models.CharField(max_length=MODE_MAX_LENGTH, choices=Mode.choices)
    name = models.CharField(max_length=64)
    description = models.TextField()
    input_schema = models.JSONField()
    endpoint_url = models.CharField(max_length=2048)
    timeout_seconds = models.PositiveSmallIntegerField(default=MAX_TIMEOUT_SECONDS)
    enabled = models.BooleanField(default=True)

    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.NONE)
    auth_header_name = models.CharField(max_length=100, blank=True)
    auth_username = models.CharField(max_length=200, blank=True)
    # The token, header value or password, encrypted (core/crypto.py); the hint is what the mask shows.
    encrypted_fields: ClassVar[tuple[str, ...]] = ("auth_secret_encrypted",)
    auth_secret_encrypted = models.TextField(blank=True)
    auth_secret_hint = models.CharField(max_length=8, blank=True)

    # The latest invocation, kept here so lists need no aggregate over the log.
    last_invoked_at = models.DateTimeField(null=True, blank=True)
    last_invocation_status = models.CharField(max_length=20, blank=True)
    last_invocation_error = models.CharField(max_length=500, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "name"], name="tool_unique_name_per_org_mode")
        ]
        indexes = [
            models.Index(fields=["organization", "mode", "-created_at", "-public_id"], name="tool_org_mode_page")
        ]
        verbose_name = "custom tool"

    def __str__(self) -> str:
        return self.name

    @property
    def auth_secret(self) -> str:
        return crypto.decrypt(self.auth_secret_encrypted) if self.auth_secret_encrypted else ""

    def set_auth_secret(self, secret: str) -> None:
        self.auth_secret_encrypted = crypto.encrypt(secret) if secret else ""
        self.auth_secret_hint = mask_secret(secret)[len(MASK) :] if secret else ""

    @property
    def masked_secret(self) -> str:
        return MASK + self.auth_secret_hint if self.auth_secret_encrypted else ""

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a call, with the real secret (never stored or logged)."""
        if self.auth_type == self.AuthType.BEARER:
            return {"Authorization": f"Bearer {self.auth_secret}"}
        if self.auth_type == self.AuthType.HEADER:
            return {self.auth_header_name: self.auth_secret}
        if self.auth_type == self.AuthType.BASIC:
            token = base64.b64encode(f"{self.auth_username}:{self.auth_secret}".encode()).decode("ascii")
            return {"Authorization": f"Basic {token}"}
        return {}

    def redacted_auth_headers(self) -> dict[str, str]:
        """The same header names with masked values, for the invocation log."""
        if self.auth_type == self.AuthType.BEARER:
            return {"Authorization": f"Bearer {self.masked_secret}"}
        if self.auth_type == self.AuthType.HEADER:
            return {self.auth_header_name: self.masked_secret}
        if self.auth_type == self.AuthType.BASIC:
            return {"Authorization": f"Basic {MASK} (user {self.auth_username})"}
        return {}


class ToolSigningSecret(RotatingSecret):
    """The business's ``whsec_`` secret that signs every tool call (X-AIP-Signature).

    One per organisation, created on first use. After a rotation the previous secret keeps
    signing alongside the new one until ``previous_secret_expires_at`` so receivers can switch over.
    """

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="tool_signing_secret")
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "tool signing secret"

    def __str__(self) -> str:
        return f"Tool signing secret of {self.organization}"

    @property
    def masked(self) -> str:
        return mask_secret(self.secret)


class ToolInvocation(models.Model):
    """One HTTP call of a tool (or one refused attempt): what was asked, what came back, how long.

    ``invocation_id`` is sent as X-AIP-Invocation-Id and stays the same when the conversation
    retries the same call, so the receiver can deduplicate; each retry is a new row (attempt 2, …).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # queued for a tools worker
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # the endpoint was called (or refused by the SSRF policy) and failed
        REJECTED = "rejected", "Rejected"  # the arguments did not match the schema; nothing was sent
        REFUSED = "refused", "Refused"  # not allowed to run: tool disabled, business suspended or cannot pay

    class Source(models.TextChoices):
        VOICE = "voice", "Voice call"
        CHAT = "chat", "Chat"
        DASHBOARD = "dashboard", "Dashboard test"
        SIMULATOR = "simulator", "Call simulator"
        API = "api", "API test"

    public_id = public_id_field("tinv")
    invocation_id = models.CharField(max_length=40, db_index=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tool_invocations")
    tool = models.ForeignKey(CustomTool, null=True, blank=True, on_delete=models.SET_NULL, related_name="invocations")
    tool_name = models.CharField(max_length=64)
    # The mode of the call that made it; a live call only ever invokes live tools (see tool_invoke).
    mode = models.CharField(max_length=MODE_MAX_LENGTH, choices=Mode.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.VOICE)
    # The key whose request asked for it (an API test): the invocation is metered under that key.
    api_key = models.ForeignKey("developer.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    call_session_id = models.CharField(max_length=100, blank=True)
    arguments = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    request_url = models.CharField(max_length=2048, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)  # credentials masked
    request_body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    response_bytes = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    metered = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [
            models.UniqueConstraint(fields=["invocation_id", "attempt"], name="tool_invocation_attempt_unique")
        ]
        indexes = [
            models.Index(fields=["organization", "mode", "-created_at", "-public_id"], name="tinv_org_mode_page"),
            models.Index(fields=["tool", "-created_at"], name="tinv_tool_recent"),
            models.Index(fields=["status", "created_at"], name="tinv_status_age"),
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} {self.public_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def caused_by(self) -> Attribution:
        """Whose usage it is: the asking key's, the dashboard's (a test there), else the system's
        (calls, chat, the simulator)."""
        if self.source == self.Source.API:
            return stored(UsageSource.API, self.api_key_id)
        return DASHBOARD if self.source == self.Source.DASHBOARD else SYSTEM


class Agent(models.Model):
    """A specialised AI agent of one business. The default one greets every call and hands off."""

    public_id = public_id_field("agt")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    mode = models.CharField(max_length=MODE_MAX_LENGTH, choices=Mode.choices)
    agent_key = models.CharField(max_length=40)
    display_name = models.CharField(max_length=100)
    instructions = models.TextField()
    match_hints = models.JSONField(default=list, blank=True)
    # Empty means "every custom tool of the business" (the public contract), see AgentTool.
    custom_tools = models.ManyToManyField(CustomTool, through="AgentTool", related_name="agents", blank=True)
    allow_payments = models.BooleanField(default=False)
    allow_booking = models.BooleanField(default=False)
    allow_transfer = models.BooleanField(default=False)
    allow_knowledge_search = models.BooleanField(default=True)
    # Empty means "all business knowledge".
    knowledge_bases = models.ManyToManyField(
        "phone.KnowledgeBase", through="AgentKnowledgeBase", related_name="agents", blank=True
    )
    is_default = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "agent_key"], name="agent_unique_key_per_org_mode"),
            # The database itself guarantees at most one default agent per business and mode.
            models.UniqueConstraint(
                fields=["organization", "mode"], condition=Q(is_default=True), name="agent_one_default_per_org_mode"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "mode", "-created_at", "-public_id"], name="agent_org_mode_page")
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.agent_key})"


class AgentTool(models.Model):
    """An agent limited to this tool. RESTRICT: deleting the tool on its own must not silently turn
    an agent's short list into an empty one, which would mean "all tools"; deleting both together
    (the whole business) is fine."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE)
    tool = models.ForeignKey(CustomTool, on_delete=models.RESTRICT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "tool"], name="agent_tool_unique")]

    def __str__(self) -> str:
        return f"{self.agent} → {self.tool}"


class AgentKnowledgeBase(models.Model):
    """An agent limited to this knowledge base; RESTRICT for the same reason as AgentTool."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE)
    knowledge_base = models.ForeignKey("phone.KnowledgeBase", on_delete=models.RESTRICT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "knowledge_base"], name="agent_knowledge_base_unique")]

    def __str__(self) -> str:
        return f"{self.agent} → {self.knowledge_base}"


class DataCollectionField(models.Model):
    """A piece of information the AI collects from callers: for every agent, or for one specialist."""

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        CHOICE = "choice", "Choice"

    public_id = public_id_field("fld")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="data_fields")
    mode = models.CharField(max_length=MODE_MAX_LENGTH, choices=Mode.choices)
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="data_fields")
    key = models.CharField(max_length=64)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=FieldType.choices, default=FieldType.TEXT)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "key"], name="data_field_unique_key_per_org_mode")
        ]
        indexes = [
            models.Index(fields=["organization", "mode", "-created_at", "-public_id"], name="field_org_mode_page")
        ]
        verbose_name = "data-collection field"

    def __str__(self) -> str:
        return f"{self.label} ({self.key})"
