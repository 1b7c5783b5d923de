"""Public API: calls (with transcript and recording), contacts, text messages, knowledge bases, the AI config.

Every view sees only the key's mode (`_PhoneView.mode_queryset`, `services.ai_config_for(mode=…)`).

The serializers first document the shapes (OpenAPI only): the JSON built in `phone.payloads` and the bodies
the views accept. Nothing in them validates a request; the services do that. Schemathesis checks these
shapes against real responses, so a field added to a payload must be added here too. The phone events'
webhooks (`call.completed`, …) are documented here as well, with webhooks' envelope.
"""

from __future__ import annotations

import datetime
import time
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import Organization
from billing.attribution import by_key
from core.modes import Mode
from core.timefmt import iso
from developer.models import ApiKey
from developer.public_api.base import PublicApiView, body_kwargs, json_body, ok
from developer.public_api.exceptions import ResourceNotFound, ValidationFailed
from developer.public_api.idempotency import idempotent
from developer.public_api.openapi import (
    HHMM_PATTERN,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    LIST_PARAMETERS,
    NOT_BLANK_PATTERN,
    WireNamesMixin,
    error_response,
)
from developer.public_api.requests import ApiRequest
from webhooks.api import event_webhook

from . import recording_urls, services
from .ai_config_rules import (
    GREETING_MAX_LENGTH,
    HELP_REPLY_MAX_LENGTH,
    MAX_INTERVALS_PER_DAY,
    SUPPORTED_LANGUAGES,
)
from .date_ranges import HELP as DATE_RANGE_HELP
from .date_ranges import PRESET_DAYS, DateRange, InvalidDateRange, parse_date_range
from .models import (
    AiConfig,
    Appointment,
    Call,
    Contact,
    ContactQuerySet,
    Direction,
    KnowledgeBase,
    Message,
    Recording,
    SmsOptOut,
    TranscriptTurn,
)
from .payloads import (
    ai_config_json,
    call_detail_json,
    call_json,
    contact_json,
    knowledge_base_json,
    message_json,
    transcript_json,
)
from .services import SMS_BODY_MAX_LENGTH

PHONE_HELP = "E.164 (`+14155552671`), or a national number read in the business's country."

# --- Query parameters ----------------------------------------------------------------------------

SEARCH_PARAMETER = OpenApiParameter(
    "search",
    {"type": "string", "maxLength": 200},
    required=False,  # phone.api.SEARCH_MAX_LENGTH
    description="Matches a phone number in any common format, a name, or text (calls: the summary).",
)
DIRECTION_PARAMETER = OpenApiParameter("direction", {"type": "string", "enum": list(Direction.values)}, required=False)
DATE_RANGE_PARAMETER = OpenApiParameter(
    "dateRange",
    {
        "anyOf": [
            {"type": "string", "enum": list(PRESET_DAYS), "description": "Calendar days up to now, today included."},
            {"type": "string", "pattern": "^[^,]+,[^,]+$", "description": "FROM,TO: ISO 8601 dates or date-times."},
        ]
    },
    required=False,
    description=DATE_RANGE_HELP,
)


# --- Responses -----------------------------------------------------------------------------------


class ContactRefSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `con_…`.")
    name = serializers.CharField(allow_null=True)
    phoneNumber = serializers.CharField(help_text="E.164.")


class CallAgentSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="`agt_…`, or null for the business's single default AI.")
    name = serializers.CharField()


class CallSerializer(WireNamesMixin, serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `call_…`.")
    direction = serializers.ChoiceField(choices=Direction.choices)
    from_ = serializers.CharField(help_text="E.164 of the caller.")
    to = serializers.CharField(help_text="E.164 of the callee.")
    status = serializers.ChoiceField(choices=Call.Status.choices)
    startedAt = serializers.DateTimeField()
    endedAt = serializers.DateTimeField(allow_null=True)
    durationSeconds = serializers.IntegerField(min_value=0, allow_null=True)
    summary = serializers.CharField(allow_null=True, help_text="The AI's post-call summary.")
    outcome = serializers.ChoiceField(choices=Call.Outcome.choices, allow_null=True)
    contact = ContactRefSerializer(allow_null=True)
    agent = CallAgentSerializer(allow_null=True, help_text="The AI agent that handled the call.")
    hasTranscript = serializers.BooleanField(help_text="`GET /calls/{id}/transcript` has turns to return.")
    hasRecording = serializers.BooleanField(help_text="`GET /calls/{id}/recording` has a URL to return.")


class VoicemailSerializer(WireNamesMixin, serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `vm_…`.")
    callId = serializers.CharField()
    from_ = serializers.CharField()
    transcription = serializers.CharField(allow_null=True)
    durationSeconds = serializers.IntegerField(min_value=0)
    createdAt = serializers.DateTimeField()


class AppointmentSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `apt_…`.")
    status = serializers.ChoiceField(choices=Appointment.Status.choices)
    service = serializers.CharField()
    startsAt = serializers.DateTimeField()
    durationMinutes = serializers.IntegerField(min_value=0)
    contact = ContactRefSerializer()
    callId = serializers.CharField(allow_null=True, help_text="The call it was booked on, if any.")
    notes = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()


class CallDetailSerializer(CallSerializer):
    voicemail = VoicemailSerializer(allow_null=True)
    appointments = AppointmentSerializer(many=True)


class TranscriptTurnSerializer(serializers.Serializer):
    speaker = serializers.ChoiceField(choices=TranscriptTurn.Speaker.choices)
    text = serializers.CharField()
    offsetMs = serializers.IntegerField(min_value=0, help_text="Milliseconds from the start of the call.")


class TranscriptSerializer(serializers.Serializer):
    callId = serializers.CharField()
    turns = TranscriptTurnSerializer(many=True, help_text="In speaking order.")


class RecordingSerializer(serializers.Serializer):
    callId = serializers.CharField()
    recordingId = serializers.CharField(help_text="Opaque id, `rec_…`.")
    url = serializers.URLField(
        help_text=(
            "Signed URL of the audio; needs no API key and stops working at `expiresAt`. It honours a "
            "single `Range: bytes=…` (206 with `Content-Range`, 416 when unsatisfiable), so players can seek."
        )
    )
    expiresAt = serializers.DateTimeField()
    contentType = serializers.CharField(help_text="e.g. audio/wav")
    durationSeconds = serializers.IntegerField(min_value=0)
    sizeBytes = serializers.IntegerField(min_value=0)


class ContactSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `con_…`.")
    phoneNumber = serializers.CharField(help_text="E.164; unique per business and mode.")
    name = serializers.CharField(allow_null=True)
    email = serializers.EmailField(allow_null=True)
    company = serializers.CharField(allow_null=True)
    smsOptedOut = serializers.BooleanField(help_text="The number texted STOP; texts to it are refused until START.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class MessageErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The carrier's error code.")
    message = serializers.CharField()


class MessageSerializer(WireNamesMixin, serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `msg_…`.")
    direction = serializers.ChoiceField(choices=Direction.choices)
    from_ = serializers.CharField()
    to = serializers.CharField()
    body = serializers.CharField()
    encoding = serializers.ChoiceField(choices=["GSM-7", "UCS-2"])
    segments = serializers.IntegerField(min_value=1, help_text="Billed units (SMS segments).")
    status = serializers.ChoiceField(choices=Message.Status.choices)
    mode = serializers.ChoiceField(choices=list(Mode.values))
    test = serializers.BooleanField(help_text="Sent with a test key: nothing reached a carrier, nothing was billed.")
    error = MessageErrorSerializer(allow_null=True, help_text="Why the carrier refused it, for failed messages.")
    contactId = serializers.CharField(allow_null=True, help_text="Null when the contact was erased.")
    createdAt = serializers.DateTimeField()
    sentAt = serializers.DateTimeField(allow_null=True)
    deliveredAt = serializers.DateTimeField(allow_null=True, help_text="When the carrier reported delivery.")
    statusUpdatedAt = serializers.DateTimeField(help_text="When `status` last changed.")


class KnowledgeBaseSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `kb_…`; what an agent's `knowledgeBaseIds` lists.")
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    documentCount = serializers.IntegerField(min_value=0)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField(help_text="The last change to the base or any of its documents.")


class OpeningIntervalSerializer(serializers.Serializer):
    open = serializers.RegexField(HHMM_PATTERN, help_text="24-hour HH:MM, before `close`.")
    close = serializers.RegexField(HHMM_PATTERN)


def _day_intervals() -> serializers.ListSerializer:
    # What `OpeningIntervalSerializer(many=True, required=False, max_length=…)` builds (many_init hands
    # max_length to the list), spelled out because the stubs type only the child's arguments.
    return serializers.ListSerializer(
        child=OpeningIntervalSerializer(required=False), required=False, max_length=MAX_INTERVALS_PER_DAY
    )


class BusinessHoursSerializer(serializers.Serializer):
    """A weekday with no intervals (or left out) is closed."""

    monday = _day_intervals()
    tuesday = _day_intervals()
    wednesday = _day_intervals()
    thursday = _day_intervals()
    friday = _day_intervals()
    saturday = _day_intervals()
    sunday = _day_intervals()


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.RegexField(HHMM_PATTERN, help_text="24-hour HH:MM in the business's time zone.")
    end = serializers.RegexField(HHMM_PATTERN, help_text="Equal to `start`: no quiet hours.")


class AiConfigSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=SUPPORTED_LANGUAGES, help_text="BCP-47 tag the AI speaks.")
    timezone = serializers.CharField(help_text="IANA time zone of the business, e.g. America/New_York.")
    callHandlingMode = serializers.ChoiceField(choices=AiConfig.CallHandlingMode.choices)
    greeting = serializers.CharField()
    businessHours = BusinessHoursSerializer()
    voicemailEnabled = serializers.BooleanField()
    smsHelpReply = serializers.CharField(allow_null=True, help_text="Reply to a HELP text; null: a standard reply.")
    smsQuietHours = QuietHoursSerializer(help_text="No texts are sent in this window (compliance).")
    updatedAt = serializers.DateTimeField()


# --- Request bodies ------------------------------------------------------------------------------


class ContactCreateSerializer(serializers.Serializer):
    phoneNumber = serializers.CharField(help_text=PHONE_HELP + " Unique per business and mode.")
    name = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_null=True)
    company = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)


class ContactUpdateSerializer(ContactCreateSerializer):
    """Only the fields sent change; null or "" clears name, email or company."""

    phoneNumber = serializers.CharField(required=False, help_text=PHONE_HELP + " Unique per business and mode.")


class SendMessageSerializer(serializers.Serializer):
    to = serializers.CharField(help_text=PHONE_HELP)
    body = serializers.RegexField(
        NOT_BLANK_PATTERN,
        max_length=SMS_BODY_MAX_LENGTH,
        help_text=f"The text, 1 to {SMS_BODY_MAX_LENGTH:,} characters (not only spaces).",
    )


class AiConfigUpdateSerializer(serializers.Serializer):
    """The curated subset; send at least one field. Payment, spam and PII settings are never writable here."""

    language = serializers.ChoiceField(choices=SUPPORTED_LANGUAGES, required=False)
    timezone = serializers.CharField(required=False, help_text="An IANA time zone name, e.g. Europe/London.")
    callHandlingMode = serializers.ChoiceField(choices=AiConfig.CallHandlingMode.choices, required=False)
    greeting = serializers.RegexField(NOT_BLANK_PATTERN, max_length=GREETING_MAX_LENGTH, required=False)
    businessHours = BusinessHoursSerializer(
        required=False, help_text="Replaces the whole week. Intervals of a day must not overlap."
    )
    voicemailEnabled = serializers.BooleanField(required=False)
    smsHelpReply = serializers.CharField(
        max_length=HELP_REPLY_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )
    smsQuietHours = QuietHoursSerializer(required=False)


# --- Request examples (shown in the docs; schemathesis sends them as known-good requests) ------------

CREATE_CONTACT_EXAMPLE = OpenApiExample(
    "A new contact",
    request_only=True,
    value={
        "phoneNumber": "+15555550123",
        "name": "Jordan",
        "email": "jordan@example.com",
        "company": "Jordan & Co",
    },
)
UPDATE_CONTACT_EXAMPLE = OpenApiExample(
    "Rename and clear the company", request_only=True, value={"name": "Jordan Lee", "company": None}
)
SEND_MESSAGE_EXAMPLE = OpenApiExample(
    "A thank-you text", request_only=True, value={"to": "+15555550123", "body": "Thanks for calling!"}
)
UPDATE_CONFIG_EXAMPLE = OpenApiExample(
    "Opening hours and quiet hours",
    request_only=True,
    value={
        "callHandlingMode": "forward_first",
        "businessHours": {
            "monday": [{"open": "09:00", "close": "12:30"}, {"open": "13:30", "close": "17:00"}],
            "saturday": [{"open": "10:00", "close": "14:00"}],
        },
        "smsQuietHours": {"start": "21:00", "end": "08:00"},
    },
)


# --- Event payloads (OpenAPI 3.1 webhooks): the phone events, documented with webhooks' envelope ---------


class ContactUpdatedSerializer(ContactSerializer):
    changedFields = serializers.ListField(child=serializers.CharField(), help_text="Wire names of what changed.")


class SmsReceivedSerializer(MessageSerializer):
    keyword = serializers.ChoiceField(
        choices=["opt_out", "opt_in", "help"],
        allow_null=True,
        help_text="A compliance keyword (STOP, START, HELP and synonyms) already "
        "applied, or null for an ordinary text.",
    )


class SmsStatusUpdatedSerializer(MessageSerializer):
    previousStatus = serializers.ChoiceField(choices=Message.Status.choices)


class ContactDeletedSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The erased contact's id, `con_…`; nothing else of it is sent.")
    deleted = serializers.BooleanField()


call_started = event_webhook("call.started", CallSerializer)
call_completed = event_webhook("call.completed", CallSerializer)
transcript_ready = event_webhook("transcript.ready", TranscriptSerializer)
sms_received = event_webhook("sms.received", SmsReceivedSerializer)
sms_sent = event_webhook("sms.sent", MessageSerializer)
voicemail_created = event_webhook("voicemail.created", VoicemailSerializer)
contact_created = event_webhook("contact.created", ContactSerializer)
contact_updated = event_webhook("contact.updated", ContactUpdatedSerializer)
appointment_booked = event_webhook("appointment.booked", AppointmentSerializer)
# Additions beside the spec's nine.
sms_status_updated = event_webhook("sms.status_updated", SmsStatusUpdatedSerializer)
contact_deleted = event_webhook("contact.deleted", ContactDeletedSerializer)


# --- views ----------------------------------------------------------------------------------------

SEARCH_MAX_LENGTH = 200


class _PhoneView(PublicApiView):
    def organization(self) -> Organization:
        return Organization.objects.get(pk=self.request.auth.organization_id)

    def mode_queryset(self, model: type[Call] | type[Contact] | type[Message]) -> QuerySet:
        """The caller's organisation's rows of the key's mode: another mode's id is a 404 exactly as
        another business's is (same lookup, same answer), and lists and cursors never cross modes."""
        return self.org_queryset(model).filter(mode=self.request.auth.mode)

    def date_window(self, organization: Organization) -> DateRange | None:
        """`?dateRange=` read in the key's mode's time zone, or None when not given."""
        date_range = self.request.query_params.get("dateRange")
        if date_range is None:
            return None
        try:
            zone = services.mode_timezone(organization=organization, mode=self.request.auth.mode)
            return parse_date_range(date_range, tz=zone, now=timezone.now())
        except InvalidDateRange as exc:
            raise ValidationFailed(fields={"dateRange": [str(exc)]}) from exc

    def direction(self) -> str | None:
        direction = self.request.query_params.get("direction")
        if direction is not None and direction not in Direction.values:
            raise ValidationFailed(fields={"direction": ["Must be 'inbound' or 'outbound'."]})
        return direction

    def search_term(self) -> str | None:
        term = self.request.query_params.get("search")
        if term is None or not term.strip():
            return None
        if len(term) > SEARCH_MAX_LENGTH:
            raise ValidationFailed(fields={"search": [f"At most {SEARCH_MAX_LENGTH} characters."]})
        return term.strip()


# --- Calls ---------------------------------------------------------------------------------------


class CallList(_PhoneView):
    required_scope = "read:calls"
    cursor_field = "started_at"

    @extend_schema(
        operation_id="listCalls",
        summary="List calls (newest first)",
        parameters=[*LIST_PARAMETERS, DIRECTION_PARAMETER, DATE_RANGE_PARAMETER, SEARCH_PARAMETER],
        responses=CallSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        organization = self.organization()
        calls = (
            self.mode_queryset(Call)
            .select_related("contact")
            .annotate(
                has_transcript=Exists(TranscriptTurn.objects.filter(call=OuterRef("pk"))),
                has_recording=Exists(Recording.objects.filter(call=OuterRef("pk"))),
            )
        )
        direction = self.direction()
        if direction is not None:
            calls = calls.filter(direction=direction)
        window = self.date_window(organization)
        if window is not None:
            calls = calls.filter(started_at__gte=window.start, started_at__lte=window.end)
        term = self.search_term()
        if term is not None:
            calls = calls.search(term, region=services.organization_region(organization))
        return self.paginate(calls, call_json)


class _CallView(_PhoneView):
    def call_for(self, call_id: str) -> Call:
        return self.get_owned(self.mode_queryset(Call).select_related("contact"), call_id, "call")


class CallDetail(_CallView):
    required_scope = "read:calls"

    @extend_schema(
        operation_id="getCall",
        summary="One call in full (voicemail and appointments included)",
        responses=CallDetailSerializer,
    )
    def get(self, request: ApiRequest, call_id: str) -> Response:
        return ok(call_detail_json(self.call_for(call_id)))


class CallTranscript(_CallView):
    required_scope = "read:transcripts"

    @extend_schema(
        operation_id="getCallTranscript",
        summary="The call's transcript (speaker-attributed turns)",
        description="404 RESOURCE_NOT_FOUND while the call has no transcript yet (`hasTranscript`).",
        responses=TranscriptSerializer,
    )
    def get(self, request: ApiRequest, call_id: str) -> Response:
        call = self.call_for(call_id)
        turns = list(call.turns.order_by("position"))
        if not turns:
            raise ResourceNotFound(
                f"Call '{call_id}' has no transcript (yet): transcripts are ready shortly "
                "after a call ends, announced by the transcript.ready event."
            )
        return ok(transcript_json(call, turns))


class CallRecording(_CallView):
    required_scope = "read:recordings"

    @extend_schema(
        operation_id="getCallRecording",
        summary="A signed, expiring URL of the call's recording",
        description="404 RESOURCE_NOT_FOUND when the call has no recording (`hasRecording`).",
        responses=RecordingSerializer,
    )
    def get(self, request: ApiRequest, call_id: str) -> Response:
        call = self.call_for(call_id)
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            raise ResourceNotFound(
                f"Call '{call_id}' has no recording: it was not recorded, or the recording "
                "was deleted under the business's retention policy."
            )
        expires = int(time.time()) + settings.RECORDING_URL_TTL_SECONDS
        path = reverse("phone:recording-media", args=[recording.public_id])
        url = request.build_absolute_uri(f"{path}?{recording_urls.sign(recording.public_id, expires)}")
        return ok(
            {
                "callId": call.public_id,
                "recordingId": recording.public_id,
                "url": url,
                "expiresAt": iso(datetime.datetime.fromtimestamp(expires, tz=datetime.UTC)),
                "contentType": recording.content_type,
                "durationSeconds": recording.duration_seconds,
                "sizeBytes": recording.size_bytes,
            },
            f"Signed URL valid for {settings.RECORDING_URL_TTL_SECONDS // 60} minutes; no API key is needed to fetch it.",
        )


# --- Contacts ------------------------------------------------------------------------------------


def _with_opt_out(contacts: QuerySet[Contact]) -> ContactQuerySet:
    # Contact's default manager is ContactQuerySet's, and annotate keeps the queryset's class.
    return cast(
        ContactQuerySet,
        contacts.annotate(
            sms_opted_out=Exists(
                SmsOptOut.objects.filter(
                    organization_id=OuterRef("organization_id"),
                    mode=OuterRef("mode"),
                    phone_number=OuterRef("phone_number"),
                )
            )
        ),
    )


class ContactListCreate(_PhoneView):
    required_scope = {"GET": "read:contacts", "POST": "write:contacts"}

    @extend_schema(
        operation_id="listContacts",
        summary="List contacts (newest first)",
        parameters=[*LIST_PARAMETERS, SEARCH_PARAMETER],
        responses=ContactSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        contacts = _with_opt_out(self.mode_queryset(Contact))
        term = self.search_term()
        if term is not None:
            contacts = contacts.search(term, region=services.organization_region(self.organization()))
        return self.paginate(contacts, contact_json)

    @extend_schema(
        operation_id="createContact",
        summary="Create a contact",
        request=ContactCreateSerializer,
        examples=[CREATE_CONTACT_EXAMPLE],
        responses={201: ContactSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        contact = services.contact_create(
            organization=self.organization(),
            mode=request.auth.mode,
            caused_by=by_key(request.auth.id),
            **body_kwargs(json_body(request), services.CONTACT_FIELDS),
        )
        return ok(contact_json(contact), "Contact created.", status=201)


class ContactDetail(_PhoneView):
    required_scope = {"GET": "read:contacts", "PATCH": "write:contacts", "DELETE": "write:contacts"}

    def contact_for(self, contact_id: str) -> Contact:
        return self.get_owned(
            _with_opt_out(self.mode_queryset(Contact)).select_related("organization"), contact_id, "contact"
        )

    @extend_schema(operation_id="getContact", summary="One contact", responses=ContactSerializer)
    def get(self, request: ApiRequest, contact_id: str) -> Response:
        return ok(contact_json(self.contact_for(contact_id)))

    @extend_schema(
        operation_id="updateContact",
        summary="Update a contact",
        request=ContactUpdateSerializer,
        examples=[UPDATE_CONTACT_EXAMPLE],
        responses=ContactSerializer,
    )
    def patch(self, request: ApiRequest, contact_id: str) -> Response:
        contact = services.contact_update(
            contact=self.contact_for(contact_id),
            caused_by=by_key(request.auth.id),
            **body_kwargs(json_body(request), services.CONTACT_FIELDS),
        )
        return ok(contact_json(contact), "Contact updated.")

    @extend_schema(
        operation_id="deleteContact",
        summary="Erase a contact",
        description="For an erasure request: the contact and its personal data (name, e-mail, company, "
        "appointments) are deleted. Its calls and texts stay, without the link to it (`contact: null`, "
        "`contactId: null`). An SMS opt-out of its number is kept, as a compliance record. Emits "
        "`contact.deleted` (its id only) and is audited. Deleting it again answers 404, as for any "
        "unknown id (a retry with the same `Idempotency-Key` gets the first answer back).",
        responses=ContactDeletedSerializer,  # the answer is the `contact.deleted` payload
    )
    def delete(self, request: ApiRequest, contact_id: str) -> Response:
        contact = self.contact_for(contact_id)
        public_id = contact.public_id
        services.contact_delete(
            contact=contact, actor=ApiKey.objects.get(pk=request.auth.id), caused_by=by_key(request.auth.id)
        )
        return ok({"id": public_id, "deleted": True}, "Contact erased.")


# --- Messages ------------------------------------------------------------------------------------


STATUS_PARAMETER = OpenApiParameter("status", {"type": "string", "enum": list(Message.Status.values)}, required=False)
PHONE_NUMBER_PARAMETER = OpenApiParameter(
    "phoneNumber",
    str,
    required=False,
    description="The other party's number (the recipient of an outbound text, the sender of an inbound "
    "one). " + PHONE_HELP,
)
MESSAGES_SCOPE_NOTE = (
    " Reading texts needs `read:contacts`: they are the business's correspondence with its contacts, "
    "so a key that may only send (`write:sms`) cannot read the replies."
)


class MessageListCreate(_PhoneView):
    required_scope = {"GET": "read:contacts", "POST": "write:sms"}

    @extend_schema(
        operation_id="listMessages",
        summary="List text messages, inbound and outbound (newest first)",
        description="Each outbound text moves queued → sent → delivered, failed or undelivered as the "
        "carrier reports (never backwards); `error.code` is the carrier's. Inbound texts are `received`."
        + MESSAGES_SCOPE_NOTE,
        parameters=[
            *LIST_PARAMETERS,
            DIRECTION_PARAMETER,
            STATUS_PARAMETER,
            PHONE_NUMBER_PARAMETER,
            DATE_RANGE_PARAMETER,
        ],
        responses=MessageSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        organization = self.organization()
        messages = self.mode_queryset(Message).select_related("contact")
        direction = self.direction()
        if direction is not None:
            messages = messages.filter(direction=direction)
        status = request.query_params.get("status")
        if status is not None:
            if status not in Message.Status.values:
                raise ValidationFailed(fields={"status": [f"Must be one of: {', '.join(Message.Status.values)}."]})
            messages = messages.filter(status=status)
        number = request.query_params.get("phoneNumber")
        if number is not None and number.strip():  # empty: no filter, as for `search`
            try:
                number = services.phone_number_clean(number, organization=organization, field="phoneNumber")
            except DjangoValidationError as exc:
                raise ValidationFailed(fields=exc.message_dict) from exc
            messages = messages.filter(
                Q(direction=Direction.OUTBOUND, to_number=number) | Q(direction=Direction.INBOUND, from_number=number)
            )
        window = self.date_window(organization)
        if window is not None:
            messages = messages.filter(created_at__gte=window.start, created_at__lte=window.end)
        return self.paginate(messages, message_json)

    @extend_schema(
        operation_id="sendMessage",
        summary="Send an SMS from the business's number",
        description="Runs the same compliance checks as the app (opt-outs, quiet hours) before anything is sent. "
        "With a test key nothing is sent or charged: the message is validated, checked and stored "
        "flagged `test`. Pass an `Idempotency-Key` so a retry never sends twice.",
        parameters=[IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED],
        request=SendMessageSerializer,
        examples=[SEND_MESSAGE_EXAMPLE],
        responses={
            201: MessageSerializer,
            409: error_response(
                "A request with this Idempotency-Key is still being processed; retry after it finishes.",
                "IDEMPOTENCY_KEY_IN_USE",
            ),
            422: error_response(
                "Refused: the Idempotency-Key was used for a different request, the recipient opted out, it is "
                "inside the business's quiet hours, the business has no number that can text, or the carrier "
                "refused the message. Nothing was sent or charged.",
                "IDEMPOTENCY_KEY_REUSED",
                services.OPTED_OUT,
                services.QUIET_HOURS,
                services.NO_SMS_NUMBER,
                "SMS_REJECTED",
            ),
            502: error_response(
                "The carrier could not be reached; nothing was charged. Retry later with the same Idempotency-Key.",
                "SMS_CARRIER_UNAVAILABLE",
            ),
        },
    )
    @idempotent
    def post(self, request: ApiRequest) -> Response:
        message = services.sms_send(
            organization=self.organization(),
            mode=request.auth.mode,
            api_key_id=request.auth.id,
            **body_kwargs(json_body(request), services.SMS_SEND_FIELDS),
        )
        if message.mode == Mode.TEST:
            note = (
                "Test mode: the message passed validation and compliance checks. Nothing was sent and "
                "nothing was charged."
            )
        else:
            note = f"Message accepted by the carrier ({message.segments} segment{'s' if message.segments > 1 else ''})."
        return ok(message_json(message), note, status=201)


class MessageDetail(_PhoneView):
    required_scope = "read:contacts"

    @extend_schema(
        operation_id="getMessage",
        summary="One text message, with its delivery status",
        description="`status` follows the carrier's delivery reports; a failed or undelivered text carries "
        "the carrier's `error.code`." + MESSAGES_SCOPE_NOTE,
        responses=MessageSerializer,
    )
    def get(self, request: ApiRequest, message_id: str) -> Response:
        message = self.get_owned(self.mode_queryset(Message).select_related("contact"), message_id, "message")
        return ok(message_json(message))


# --- Knowledge bases -----------------------------------------------------------------------------

KNOWLEDGE_SCOPE_NOTE = (
    "Read-only: knowledge bases are written in the AI Phone 360 app. Shared by live and test mode (they are "
    "the business's content). Needs `manage:agents`, the scope of the agents whose `knowledgeBaseIds` name them."
)


class _KnowledgeBaseView(_PhoneView):
    required_scope = "manage:agents"

    def knowledge_bases(self) -> QuerySet[KnowledgeBase]:
        return self.org_queryset(KnowledgeBase).annotate(
            document_count=Count("documents"),
            last_changed=Greatest("updated_at", Coalesce(Max("documents__updated_at"), "updated_at")),
        )


class KnowledgeBaseList(_KnowledgeBaseView):
    @extend_schema(
        operation_id="listKnowledgeBases",
        summary="List knowledge bases (newest first)",
        description=KNOWLEDGE_SCOPE_NOTE,
        parameters=LIST_PARAMETERS,
        responses=KnowledgeBaseSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        return self.paginate(self.knowledge_bases(), knowledge_base_json)


class KnowledgeBaseDetail(_KnowledgeBaseView):
    @extend_schema(
        operation_id="getKnowledgeBase",
        summary="One knowledge base",
        description=KNOWLEDGE_SCOPE_NOTE,
        responses=KnowledgeBaseSerializer,
    )
    def get(self, request: ApiRequest, knowledge_base_id: str) -> Response:
        return ok(knowledge_base_json(self.get_owned(self.knowledge_bases(), knowledge_base_id, "knowledge base")))


# --- AI config -----------------------------------------------------------------------------------


class AiConfigView(_PhoneView):
    required_scope = {"GET": "read:usage", "PATCH": "manage:config"}

    @extend_schema(
        operation_id="getConfig",
        summary="The AI config (a curated subset)",
        description="A live key reads the live config. A test key reads the test config: a copy of the live one "
        "made the first time a test key reads or changes it, which changes independently from then on.",
        responses=AiConfigSerializer,
    )
    def get(self, request: ApiRequest) -> Response:
        return ok(ai_config_json(services.ai_config_for(organization=self.organization(), mode=request.auth.mode)))

    @extend_schema(
        operation_id="updateConfig",
        summary="Update the AI config's safe subset",
        description="Language, time zone, call-handling mode, greeting, business hours, voicemail, the "
        "HELP reply and SMS quiet hours. Payment, spam and PII settings are refused (400). A test key changes "
        "only the test config (its time zone included): live calls and live texts never see it.",
        request=AiConfigUpdateSerializer,
        examples=[UPDATE_CONFIG_EXAMPLE],
        responses=AiConfigSerializer,
    )
    def patch(self, request: ApiRequest) -> Response:
        actor = ApiKey.objects.get(pk=request.auth.id)
        fields = body_kwargs(
            json_body(request),
            services.AI_CONFIG_FIELDS,
            refusal=services.ai_config_refusal,
            check=services.ai_config_check,
        )
        config = services.ai_config_update(
            organization=self.organization(), actor=actor, mode=request.auth.mode, **fields
        )
        return ok(ai_config_json(config), "AI config updated.")
