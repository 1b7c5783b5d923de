"""Public API: calls (with transcript and recording), contacts, sending SMS, and the AI config."""

from __future__ import annotations

import datetime
import time

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization
from core.timefmt import iso
from developer.public_api.base import json_body
from developer.public_api.exceptions import ResourceNotFound, ValidationFailed
from developer.public_api.idempotency import idempotent
from developer.models import ApiKey
from developer.public_api.openapi import IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, LIST_PARAMETERS, error_response
from developer.public_api.base import PublicApiView, ok

from . import api_schema as docs
from . import recording_urls, services
from .date_ranges import InvalidDateRange, parse_date_range
from .models import Call, Contact, Direction, Message, Recording, SmsOptOut, TranscriptTurn
from .payloads import ai_config_json, call_detail_json, call_json, contact_json, message_json, transcript_json

SEARCH_MAX_LENGTH = 200


class _PhoneView(PublicApiView):
    def organization(self) -> Organization:
        return Organization.objects.get(pk=self.request.auth.organization_id)

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

    @extend_schema(operation_id="listCalls", summary="List calls (newest first)",
                   parameters=[*LIST_PARAMETERS, docs.DIRECTION_PARAMETER, docs.DATE_RANGE_PARAMETER,
                               docs.SEARCH_PARAMETER],
                   responses=docs.CallSerializer(many=True))
    def get(self, request: Request) -> Response:
        organization = self.organization()
        calls = self.org_queryset(Call).select_related("contact").annotate(
            has_transcript=Exists(TranscriptTurn.objects.filter(call=OuterRef("pk"))),
            has_recording=Exists(Recording.objects.filter(call=OuterRef("pk"))),
        )
        direction = request.query_params.get("direction")
        if direction is not None:
            if direction not in Direction.values:
                raise ValidationFailed(fields={"direction": ["Must be 'inbound' or 'outbound'."]})
            calls = calls.filter(direction=direction)
        date_range = request.query_params.get("dateRange")
        if date_range is not None:
            try:
                window = parse_date_range(date_range, tz=organization.timezone, now=timezone.now())
            except InvalidDateRange as exc:
                raise ValidationFailed(fields={"dateRange": [str(exc)]}) from exc
            calls = calls.filter(started_at__gte=window.start, started_at__lte=window.end)
        term = self.search_term()
        if term is not None:
            calls = calls.search(term, region=services.organization_region(organization))
        return self.paginate(calls, call_json)


class _CallView(_PhoneView):
    def call_for(self, call_id: str) -> Call:
        return self.get_owned(self.org_queryset(Call).select_related("contact"), call_id, "call")


class CallDetail(_CallView):
    required_scope = "read:calls"

    @extend_schema(operation_id="getCall", summary="One call in full (voicemail and appointments included)",
                   responses=docs.CallDetailSerializer)
    def get(self, request: Request, call_id: str) -> Response:
        return ok(call_detail_json(self.call_for(call_id)))


class CallTranscript(_CallView):
    required_scope = "read:transcripts"

    @extend_schema(operation_id="getCallTranscript", summary="The call's transcript (speaker-attributed turns)",
                   description="404 RESOURCE_NOT_FOUND while the call has no transcript yet (`hasTranscript`).",
                   responses=docs.TranscriptSerializer)
    def get(self, request: Request, call_id: str) -> Response:
        call = self.call_for(call_id)
        turns = list(call.turns.order_by("position"))
        if not turns:
            raise ResourceNotFound(f"Call '{call_id}' has no transcript (yet): transcripts are ready shortly "
                                   "after a call ends, announced by the transcript.ready event.")
        return ok(transcript_json(call, turns))


class CallRecording(_CallView):
    required_scope = "read:recordings"

    @extend_schema(operation_id="getCallRecording", summary="A signed, expiring URL of the call's recording",
                   description="404 RESOURCE_NOT_FOUND when the call has no recording (`hasRecording`).",
                   responses=docs.RecordingSerializer)
    def get(self, request: Request, call_id: str) -> Response:
        call = self.call_for(call_id)
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            raise ResourceNotFound(f"Call '{call_id}' has no recording: it was not recorded, or the recording "
                                   "was deleted under the business's retention policy.")
        expires = int(time.time()) + settings.RECORDING_URL_TTL_SECONDS
        path = reverse("phone:recording-media", args=[recording.public_id])
        url = request.build_absolute_uri(f"{path}?{recording_urls.sign(recording.public_id, expires)}")
        return ok({
            "callId": call.public_id,
            "recordingId": recording.public_id,
            "url": url,
            "expiresAt": iso(datetime.datetime.fromtimestamp(expires, tz=datetime.timezone.utc)),
            "contentType": recording.content_type,
            "durationSeconds": recording.duration_seconds,
            "sizeBytes": recording.size_bytes,
        }, f"Signed URL valid for {settings.RECORDING_URL_TTL_SECONDS // 60} minutes; no API key is needed to fetch it.")


# --- Contacts ------------------------------------------------------------------------------------

def _with_opt_out(contacts: QuerySet) -> QuerySet:
    return contacts.annotate(sms_opted_out=Exists(SmsOptOut.objects.filter(
        organization_id=OuterRef("organization_id"), phone_number=OuterRef("phone_number"))))


class ContactListCreate(_PhoneView):
    required_scope = {"GET": "read:contacts", "POST": "write:contacts"}

    @extend_schema(operation_id="listContacts", summary="List contacts (newest first)",
                   parameters=[*LIST_PARAMETERS, docs.SEARCH_PARAMETER], responses=docs.ContactSerializer(many=True))
    def get(self, request: Request) -> Response:
        contacts = _with_opt_out(self.org_queryset(Contact))
        term = self.search_term()
        if term is not None:
            contacts = contacts.search(term, region=services.organization_region(self.organization()))
        return self.paginate(contacts, contact_json)

    @extend_schema(operation_id="createContact", summary="Create a contact", request=docs.ContactCreateSerializer,
                   examples=[docs.CREATE_CONTACT_EXAMPLE], responses={201: docs.ContactSerializer})
    def post(self, request: Request) -> Response:
        contact = services.contact_create(organization=self.organization(), data=json_body(request),
                                          mode=request.auth.mode)
        return ok(contact_json(contact), "Contact created.", status=201)


class ContactDetail(_PhoneView):
    required_scope = {"GET": "read:contacts", "PATCH": "write:contacts"}

    def contact_for(self, contact_id: str) -> Contact:
        return self.get_owned(_with_opt_out(self.org_queryset(Contact)).select_related("organization"),
                              contact_id, "contact")

    @extend_schema(operation_id="getContact", summary="One contact", responses=docs.ContactSerializer)
    def get(self, request: Request, contact_id: str) -> Response:
        return ok(contact_json(self.contact_for(contact_id)))

    @extend_schema(operation_id="updateContact", summary="Update a contact", request=docs.ContactUpdateSerializer,
                   examples=[docs.UPDATE_CONTACT_EXAMPLE], responses=docs.ContactSerializer)
    def patch(self, request: Request, contact_id: str) -> Response:
        contact = services.contact_update(contact=self.contact_for(contact_id), data=json_body(request),
                                          mode=request.auth.mode)
        return ok(contact_json(contact), "Contact updated.")


# --- Messages ------------------------------------------------------------------------------------

class MessageCreate(_PhoneView):
    required_scope = "write:sms"

    @extend_schema(
        operation_id="sendMessage", summary="Send an SMS from the business's number",
        description="Runs the same compliance checks as the app (opt-outs, quiet hours) before anything is sent. "
                    "With a test key nothing is sent or charged: the message is validated, checked and stored "
                    "flagged `test`. Pass an `Idempotency-Key` so a retry never sends twice.",
        parameters=[IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED], request=docs.SendMessageSerializer,
        examples=[docs.SEND_MESSAGE_EXAMPLE],
        responses={
            201: docs.MessageSerializer,
            409: error_response("A request with this Idempotency-Key is still being processed; retry after it "
                                "finishes.", "IDEMPOTENCY_KEY_IN_USE"),
            422: error_response(
                "Refused: the Idempotency-Key was used for a different request, the recipient opted out, it is "
                "inside the business's quiet hours, the business has no number that can text, or the carrier "
                "refused the message. Nothing was sent or charged.",
                "IDEMPOTENCY_KEY_REUSED", services.OPTED_OUT, services.QUIET_HOURS, services.NO_SMS_NUMBER,
                "SMS_REJECTED"),
            502: error_response("The carrier could not be reached; nothing was charged. Retry later with the same "
                                "Idempotency-Key.", "SMS_CARRIER_UNAVAILABLE"),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        message = services.sms_send(organization=self.organization(), data=json_body(request),
                                    mode=request.auth.mode, api_key_id=request.auth.id)
        if message.mode == Message.Mode.TEST:
            note = ("Test mode: the message passed validation and compliance checks. Nothing was sent and "
                    "nothing was charged.")
        else:
            note = f"Message accepted by the carrier ({message.segments} segment{'s' if message.segments > 1 else ''})."
        return ok(message_json(message), note, status=201)


# --- AI config -----------------------------------------------------------------------------------

class AiConfigView(_PhoneView):
    required_scope = {"GET": "read:usage", "PATCH": "manage:config"}

    @extend_schema(operation_id="getConfig", summary="The AI config (a curated subset)",
                   responses=docs.AiConfigSerializer)
    def get(self, request: Request) -> Response:
        return ok(ai_config_json(services.ai_config_for(organization=self.organization())))

    @extend_schema(operation_id="updateConfig", summary="Update the AI config's safe subset",
                   description="Language, time zone, call-handling mode, greeting, business hours, voicemail, the "
                               "HELP reply and SMS quiet hours. Payment, spam and PII settings are refused (400).",
                   request=docs.AiConfigUpdateSerializer, examples=[docs.UPDATE_CONFIG_EXAMPLE],
                   responses=docs.AiConfigSerializer)
    def patch(self, request: Request) -> Response:
        actor = ApiKey.objects.get(pk=request.auth.id)
        config = services.ai_config_update(organization=self.organization(), data=json_body(request), actor=actor)
        return ok(ai_config_json(config), "AI config updated.")
