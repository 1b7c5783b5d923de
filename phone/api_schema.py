"""The documented shapes of the phone API (OpenAPI only): the JSON built in `phone.payloads` and the bodies
`phone.api` accepts. Nothing here validates a request; the services do that. Schemathesis checks these
shapes against real responses, so a field added to a payload must be added here too.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

from webhooks.api_schema import event_webhook
from developer.public_api.openapi import HHMM_PATTERN, NOT_BLANK_PATTERN, WireNamesMixin

from .ai_config_rules import GREETING_MAX_LENGTH, HELP_REPLY_MAX_LENGTH, MAX_INTERVALS_PER_DAY, SUPPORTED_LANGUAGES
from .date_ranges import HELP as DATE_RANGE_HELP
from .models import AiConfig, Appointment, Call, Direction, Message, TranscriptTurn
from .services import SMS_BODY_MAX_LENGTH

PHONE_HELP = "E.164 (`+14155552671`), or a national number read in the business's country."

# --- Query parameters ----------------------------------------------------------------------------

SEARCH_PARAMETER = OpenApiParameter(
    "search", {"type": "string", "maxLength": 200}, required=False,  # phone.api.SEARCH_MAX_LENGTH
    description="Matches a phone number in any common format, a name, or text (calls: the summary).")
DIRECTION_PARAMETER = OpenApiParameter("direction", {"type": "string", "enum": list(Direction.values)},
                                       required=False)
DATE_RANGE_PARAMETER = OpenApiParameter("dateRange", str, required=False, description=DATE_RANGE_HELP)


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
    url = serializers.URLField(help_text="Signed URL of the audio; needs no API key and stops working at `expiresAt`.")
    expiresAt = serializers.DateTimeField()
    contentType = serializers.CharField(help_text="e.g. audio/wav")
    durationSeconds = serializers.IntegerField(min_value=0)
    sizeBytes = serializers.IntegerField(min_value=0)


class ContactSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `con_…`.")
    phoneNumber = serializers.CharField(help_text="E.164; unique per business.")
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
    mode = serializers.ChoiceField(choices=list(Message.Mode.values))
    test = serializers.BooleanField(help_text="Sent with a test key: nothing reached a carrier, nothing was billed.")
    error = MessageErrorSerializer(allow_null=True, help_text="Why the carrier refused it, for failed messages.")
    contactId = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()
    sentAt = serializers.DateTimeField(allow_null=True)


class OpeningIntervalSerializer(serializers.Serializer):
    open = serializers.RegexField(HHMM_PATTERN, help_text="24-hour HH:MM, before `close`.")
    close = serializers.RegexField(HHMM_PATTERN)


class BusinessHoursSerializer(serializers.Serializer):
    """A weekday with no intervals (or left out) is closed."""

    monday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)
    tuesday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)
    wednesday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)
    thursday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)
    friday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)
    saturday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)
    sunday = OpeningIntervalSerializer(many=True, required=False, max_length=MAX_INTERVALS_PER_DAY)


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
    phoneNumber = serializers.CharField(help_text=PHONE_HELP + " Unique per business.")
    name = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_null=True)
    company = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)


class ContactUpdateSerializer(ContactCreateSerializer):
    """Only the fields sent change; null or "" clears name, email or company."""

    phoneNumber = serializers.CharField(required=False, help_text=PHONE_HELP + " Unique per business.")


class SendMessageSerializer(serializers.Serializer):
    to = serializers.CharField(help_text=PHONE_HELP)
    body = serializers.RegexField(NOT_BLANK_PATTERN, max_length=SMS_BODY_MAX_LENGTH,
                                  help_text=f"The text, 1 to {SMS_BODY_MAX_LENGTH:,} characters (not only spaces).")


class AiConfigUpdateSerializer(serializers.Serializer):
    """The curated subset; send at least one field. Payment, spam and PII settings are never writable here."""

    language = serializers.ChoiceField(choices=SUPPORTED_LANGUAGES, required=False)
    timezone = serializers.CharField(required=False, help_text="An IANA time zone name, e.g. Europe/London.")
    callHandlingMode = serializers.ChoiceField(choices=AiConfig.CallHandlingMode.choices, required=False)
    greeting = serializers.RegexField(NOT_BLANK_PATTERN, max_length=GREETING_MAX_LENGTH, required=False)
    businessHours = BusinessHoursSerializer(required=False, help_text="Replaces the whole week. Intervals of a "
                                                                      "day must not overlap.")
    voicemailEnabled = serializers.BooleanField(required=False)
    smsHelpReply = serializers.CharField(max_length=HELP_REPLY_MAX_LENGTH, required=False, allow_null=True,
                                         allow_blank=True)
    smsQuietHours = QuietHoursSerializer(required=False)


# --- Request examples (shown in the docs; schemathesis sends them as known-good requests) ------------

CREATE_CONTACT_EXAMPLE = OpenApiExample("A new contact", request_only=True, value={
    "phoneNumber": "+15555550123", "name": "Jordan", "email": "jordan@example.com", "company": "Jordan & Co",
})
UPDATE_CONTACT_EXAMPLE = OpenApiExample("Rename and clear the company", request_only=True,
                                        value={"name": "Jordan Lee", "company": None})
SEND_MESSAGE_EXAMPLE = OpenApiExample("A thank-you text", request_only=True,
                                      value={"to": "+15555550123", "body": "Thanks for calling!"})
UPDATE_CONFIG_EXAMPLE = OpenApiExample("Opening hours and quiet hours", request_only=True, value={
    "callHandlingMode": "forward_first",
    "businessHours": {"monday": [{"open": "09:00", "close": "12:30"}, {"open": "13:30", "close": "17:00"}],
                      "saturday": [{"open": "10:00", "close": "14:00"}]},
    "smsQuietHours": {"start": "21:00", "end": "08:00"},
})


# --- Event payloads (OpenAPI 3.1 webhooks): the phone events, documented with webhooks' envelope ---------

class ContactUpdatedSerializer(ContactSerializer):
    changedFields = serializers.ListField(child=serializers.CharField(), help_text="Wire names of what changed.")


class SmsReceivedSerializer(MessageSerializer):
    keyword = serializers.ChoiceField(choices=["opt_out", "opt_in", "help"], allow_null=True,
                                      help_text="A compliance keyword (STOP, START, HELP and synonyms) already "
                                                "applied, or null for an ordinary text.")


call_started = event_webhook("call.started", CallSerializer)
call_completed = event_webhook("call.completed", CallSerializer)
transcript_ready = event_webhook("transcript.ready", TranscriptSerializer)
sms_received = event_webhook("sms.received", SmsReceivedSerializer)
sms_sent = event_webhook("sms.sent", MessageSerializer)
voicemail_created = event_webhook("voicemail.created", VoicemailSerializer)
contact_created = event_webhook("contact.created", ContactSerializer)
contact_updated = event_webhook("contact.updated", ContactUpdatedSerializer)
appointment_booked = event_webhook("appointment.booked", AppointmentSerializer)
