"""Typed views of the API's JSON objects.

Each class is the wire JSON (a dict with camelCase keys) read through snake_case attributes: the
annotations below are what editors and type checkers see; the values come straight from the API.
Timestamps are ISO 8601 strings in UTC; money amounts are decimal strings ("0.40").

Enumerations are ``Literal`` types, so a misspelt scope or event type fails type checking. A field
the API may leave out of an answer is typed ``… | None`` and reads as None when absent;
``tests/sdks/test_sdk_types_match_openapi.py`` in the platform checks every class against the
OpenAPI document (fields, optionality, enumerations), so these types cannot drift from the API.
"""

from __future__ import annotations

from typing import Any, Literal

from ._objects import ApiObject

Mode = Literal["live", "test"]
UsageSource = Literal["api", "dashboard", "system"]  # who caused a usage row: a key, the dashboard, the system
Scope = Literal[
    "read:calls",
    "read:transcripts",
    "read:recordings",
    "read:contacts",
    "write:contacts",
    "write:sms",
    "read:usage",
    "manage:config",
    "manage:webhooks",
    "manage:tools",
    "manage:agents",
]
EventType = Literal[
    "call.started",
    "call.completed",
    "transcript.ready",
    "sms.received",
    "sms.sent",
    "voicemail.created",
    "contact.created",
    "contact.updated",
    "appointment.booked",
    "sms.status_updated",
    "contact.deleted",
    "webhook.test",
]
#: What an endpoint may subscribe to: an event type, or "*" for every type.
EventSubscription = Literal[
    "call.started",
    "call.completed",
    "transcript.ready",
    "sms.received",
    "sms.sent",
    "voicemail.created",
    "contact.created",
    "contact.updated",
    "appointment.booked",
    "sms.status_updated",
    "contact.deleted",
    "*",
]
Language = Literal[
    "en-US",
    "en-GB",
    "en-AU",
    "en-CA",
    "en-IE",
    "en-NZ",
    "es-US",
    "es-ES",
    "es-MX",
    "fr-FR",
    "fr-CA",
    "de-DE",
    "it-IT",
    "nl-NL",
    "pt-BR",
    "pt-PT",
    "pl-PL",
    "sv-SE",
    "da-DK",
    "nb-NO",
    "fi-FI",
    "ja-JP",
    "ko-KR",
    "zh-CN",
    "hi-IN",
]
RotationWindow = Literal["now", "1h", "24h", "3d", "7d"]
CallHandlingMode = Literal["ai_first", "forward_first", "after_hours_only"]
DataFieldType = Literal["text", "number", "date", "email", "phone", "choice"]


class Pagination(ApiObject):
    next_cursor: str | None
    has_more: bool
    limit: int


# --- Calls -------------------------------------------------------------------------------------


class ContactRef(ApiObject):
    id: str
    name: str | None
    phone_number: str


class CallAgent(ApiObject):
    id: str | None
    name: str


class Call(ApiObject):
    id: str
    direction: Literal["inbound", "outbound"]
    from_: str
    to: str
    status: Literal["in_progress", "completed", "missed", "voicemail", "failed"]
    started_at: str
    ended_at: str | None
    duration_seconds: int | None
    summary: str | None
    outcome: (
        Literal[
            "appointment_booked",
            "question_answered",
            "message_taken",
            "transferred",
            "voicemail",
            "spam",
            "abandoned",
        ]
        | None
    )
    contact: ContactRef | None
    agent: CallAgent | None
    has_transcript: bool
    has_recording: bool


class Voicemail(ApiObject):
    id: str
    call_id: str
    from_: str
    transcription: str | None
    duration_seconds: int
    created_at: str


class Appointment(ApiObject):
    id: str
    status: Literal["booked", "cancelled"]
    service: str
    starts_at: str
    duration_minutes: int
    contact: ContactRef
    call_id: str | None
    notes: str | None
    created_at: str


class CallDetail(Call):
    voicemail: Voicemail | None
    appointments: list[Appointment]


class TranscriptTurn(ApiObject):
    speaker: Literal["agent", "caller", "staff"]
    text: str
    offset_ms: int


class Transcript(ApiObject):
    call_id: str
    turns: list[TranscriptTurn]


class Recording(ApiObject):
    call_id: str
    recording_id: str
    url: str
    expires_at: str
    content_type: str
    duration_seconds: int
    size_bytes: int


# --- Contacts and messages ---------------------------------------------------------------------


class Contact(ApiObject):
    id: str
    phone_number: str
    name: str | None
    email: str | None
    company: str | None
    sms_opted_out: bool
    created_at: str
    updated_at: str


class MessageError(ApiObject):
    code: str
    message: str


MessageStatus = Literal["queued", "sent", "delivered", "failed", "undelivered", "received"]


class Message(ApiObject):
    id: str
    direction: Literal["inbound", "outbound"]
    from_: str
    to: str
    body: str
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    status: MessageStatus
    mode: Mode
    test: bool
    error: MessageError | None
    contact_id: str | None
    created_at: str
    sent_at: str | None
    delivered_at: str | None
    status_updated_at: str


# --- AI config ---------------------------------------------------------------------------------


class QuietHours(ApiObject):
    start: str
    end: str


class AiConfig(ApiObject):
    language: Language
    timezone: str
    call_handling_mode: CallHandlingMode
    greeting: str
    business_hours: dict[str, list[dict[str, str]]]
    voicemail_enabled: bool
    sms_help_reply: str | None
    sms_quiet_hours: QuietHours
    updated_at: str


# --- Webhooks ----------------------------------------------------------------------------------


class WebhookEvent(ApiObject):
    """What a receiver gets. Deduplicate on ``id``: delivery is at-least-once."""

    id: str
    type: EventType
    created_at: str
    business_id: str
    data: ApiObject
    livemode: bool


class ContactUpdated(Contact):
    """``contact.updated``'s payload: the contact, and the wire names of what changed."""

    changed_fields: list[str]


class SmsReceived(Message):
    """``sms.received``'s payload: the text, and the compliance keyword already applied, if any."""

    keyword: Literal["opt_out", "opt_in", "help"] | None


class WebhookTestData(ApiObject):
    message: str
    endpoint_id: str


# One class per event type, each narrowing ``type`` and ``data``: ``verify_webhook`` returns the
# ``Event`` union, so ``if event.type == "call.completed":`` makes ``event.data`` a ``Call`` for mypy.
class CallStartedEvent(WebhookEvent):
    type: Literal["call.started"]
    data: Call


class CallCompletedEvent(WebhookEvent):
    type: Literal["call.completed"]
    data: Call


class TranscriptReadyEvent(WebhookEvent):
    type: Literal["transcript.ready"]
    data: Transcript


class SmsReceivedEvent(WebhookEvent):
    type: Literal["sms.received"]
    data: SmsReceived


class SmsSentEvent(WebhookEvent):
    type: Literal["sms.sent"]
    data: Message


class VoicemailCreatedEvent(WebhookEvent):
    type: Literal["voicemail.created"]
    data: Voicemail


class ContactCreatedEvent(WebhookEvent):
    type: Literal["contact.created"]
    data: Contact


class ContactUpdatedEvent(WebhookEvent):
    type: Literal["contact.updated"]
    data: ContactUpdated


class AppointmentBookedEvent(WebhookEvent):
    type: Literal["appointment.booked"]
    data: Appointment


# --- issue 18 additions: message delivery status, contact erasure ---


class SmsStatusUpdated(Message):
    previous_status: MessageStatus


class ContactDeleted(ApiObject):
    id: str
    deleted: bool


class SmsStatusUpdatedEvent(WebhookEvent):
    type: Literal["sms.status_updated"]
    data: SmsStatusUpdated


class ContactDeletedEvent(WebhookEvent):
    type: Literal["contact.deleted"]
    data: ContactDeleted


# --- end of issue 18 additions ---


class WebhookTestEvent(WebhookEvent):
    type: Literal["webhook.test"]
    data: WebhookTestData


Event = (
    CallStartedEvent
    | CallCompletedEvent
    | TranscriptReadyEvent
    | SmsReceivedEvent
    | SmsSentEvent
    | VoicemailCreatedEvent
    | ContactCreatedEvent
    | ContactUpdatedEvent
    | AppointmentBookedEvent
    | SmsStatusUpdatedEvent
    | ContactDeletedEvent
    | WebhookTestEvent
)
#: The class of each event type (an event type newer than this SDK is read as a plain WebhookEvent).
EVENT_CLASSES: dict[str, type[WebhookEvent]] = {
    "call.started": CallStartedEvent,
    "call.completed": CallCompletedEvent,
    "transcript.ready": TranscriptReadyEvent,
    "sms.received": SmsReceivedEvent,
    "sms.sent": SmsSentEvent,
    "voicemail.created": VoicemailCreatedEvent,
    "contact.created": ContactCreatedEvent,
    "contact.updated": ContactUpdatedEvent,
    "appointment.booked": AppointmentBookedEvent,
    "sms.status_updated": SmsStatusUpdatedEvent,
    "contact.deleted": ContactDeletedEvent,
    "webhook.test": WebhookTestEvent,
}


class WebhookEndpoint(ApiObject):
    id: str
    url: str
    description: str
    events: list[EventSubscription]
    modes: list[Mode]  # the events it receives
    enabled: bool
    disabled_at: str | None
    disabled_reason: str | None
    last_attempt_at: str | None
    last_status: int | None
    last_error: str | None
    last_success_at: str | None
    failing_since: str | None
    disables_at: str | None
    previous_secret_expires_at: str | None
    created_at: str
    updated_at: str
    attempts_24h: int | None  # in list and get answers only
    success_rate_24h: float | None


class WebhookEndpointWithSecret(WebhookEndpoint):
    """The answer of ``webhooks.create`` and ``webhooks.rotate_secret``: the only time ``secret`` is shown."""

    secret: str


class WebhookDelivery(ApiObject):
    id: str
    webhook_id: str
    event_id: str
    event_type: EventType
    livemode: bool
    status: Literal["pending", "held", "succeeded", "failed", "expired"]
    status_reason: str | None
    attempt_count: int
    last_response_status: int | None
    next_attempt_at: str | None
    held_since: str | None
    replay_of: str | None
    created_at: str
    completed_at: str | None


class AttemptRequest(ApiObject):
    url: str
    headers: dict[str, str]
    body: str


class AttemptResponse(ApiObject):
    status: int | None
    headers: dict[str, str]
    body_excerpt: str


class WebhookAttempt(ApiObject):
    id: str
    number: int
    started_at: str
    finished_at: str | None
    duration_ms: int | None
    succeeded: bool
    error_class: str | None
    error_message: str | None
    request: AttemptRequest
    response: AttemptResponse


class WebhookDeliveryDetail(WebhookDelivery):
    event: WebhookEvent
    attempts: list[WebhookAttempt]


class WebhookTestResult(ApiObject):
    succeeded: bool
    delivery: WebhookDelivery
    attempt: WebhookAttempt | None


class WebhookRecoverResult(ApiObject):
    count: int
    deliveries: list[WebhookDelivery]


class Deleted(ApiObject):
    id: str
    deleted: bool


# --- knowledge bases (issue 18) ---


class KnowledgeBase(ApiObject):
    id: str
    name: str
    description: str | None
    document_count: int
    created_at: str
    updated_at: str


# --- API keys ----------------------------------------------------------------------------------


class RotatedFrom(ApiObject):
    id: str
    expires_at: str


class ApiKey(ApiObject):
    id: str
    name: str
    mode: Mode
    masked_key: str
    scopes: list[Scope]
    status: Literal["active", "expiring", "expired", "revoked"]
    created_at: str
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None


class ApiKeyWithSecret(ApiKey):
    """The answer of ``keys.create``: the only time ``secret`` is shown."""

    secret: str


class RotatedKey(ApiKeyWithSecret):
    """The answer of ``keys.rotate``: the new key, and the old one it replaces."""

    rotated_from: RotatedFrom


# --- Tools, agents, data fields ----------------------------------------------------------------


class ToolAuth(ApiObject):
    """The tool's credentials, the secret part masked in answers (``••••abcd``)."""

    type: Literal["none", "bearer", "header", "basic"]
    token: str | None
    header_name: str | None
    value: str | None
    username: str | None
    password: str | None


class Tool(ApiObject):
    id: str
    name: str
    description: str
    input_schema: dict[str, Any]
    endpoint_url: str
    auth: ToolAuth
    timeout_seconds: int
    enabled: bool
    last_invoked_at: str | None
    last_invocation_status: Literal["succeeded", "failed", "rejected", "refused"] | None
    created_at: str
    updated_at: str


class AgentTools(ApiObject):
    use_custom_tool_ids: list[str] | None
    allow_payments: bool | None
    allow_booking: bool | None
    allow_transfer: bool | None
    allow_knowledge_search: bool | None


class Agent(ApiObject):
    id: str
    agent_key: str
    display_name: str
    instructions: str
    match_hints: list[str] | None
    tools: AgentTools | None
    knowledge_base_ids: list[str] | None
    is_default: bool | None
    enabled: bool | None
    created_at: str
    updated_at: str


class DataField(ApiObject):
    id: str
    key: str
    label: str
    type: DataFieldType | None
    choices: list[str] | None
    required: bool | None
    agent_id: str | None
    created_at: str
    updated_at: str


# --- Usage -------------------------------------------------------------------------------------


class UsageLine(ApiObject):
    metric: Literal["api_requests", "webhook_attempts", "tool_invocations", "sms_segments"]
    quantity: int
    charges: str


class KeyUsage(ApiObject):
    key_id: str | None  # None for usage no key caused (source "dashboard" or "system")
    source: UsageSource
    name: str
    masked_key: str | None
    charges: str
    metrics: list[UsageLine]


class DayUsage(ApiObject):
    date: str
    charges: str
    metrics: list[UsageLine]


class ModeUsage(ApiObject):
    charges: str
    by_metric: list[UsageLine]
    by_key: list[KeyUsage]
    by_day: list[DayUsage]


class QuotaLine(ApiObject):
    metric: Literal["api_requests", "webhook_attempts", "tool_invocations", "sms_segments"]
    included: int
    used: int
    remaining: int
    unit_size: int
    unit_price: str


class FreeQuota(ApiObject):
    month: str
    plan: str | None
    metrics: list[QuotaLine]


class Wallet(ApiObject):
    balance: str
    month_to_date_spend: str


class BillingPeriod(ApiObject):
    """The billing month is the calendar month in UTC; its bounds also in the business's time zone."""

    time_zone: str
    start: str
    end: str
    local_time_zone: str
    local_start: str
    local_end: str
    billable_requests: str


class Usage(ApiObject):
    from_: str
    to: str
    currency: str
    live: ModeUsage
    test: ModeUsage
    free_quota: FreeQuota
    wallet: Wallet
    billing_period: BillingPeriod


# --- Event log (GET /events) ---------------------------------------------------------------------


class EventWithDeliveries(WebhookEvent):
    """``events.get``: the event with each endpoint's delivery of it (replays included), oldest first."""

    deliveries: list[WebhookDelivery]
