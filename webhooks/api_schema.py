"""The documented shapes of the webhooks API and of the events it delivers (OpenAPI only).

`webhooks.api` builds the JSON; this module describes it so the OpenAPI document, the docs page and
schemathesis agree with what is sent. The event payloads are OpenAPI 3.1 `webhooks`, one per event
type, listed by import path in SPECTACULAR_SETTINGS["WEBHOOKS"] (a test checks none is missing).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, OpenApiWebhook, extend_schema, extend_schema_field
from rest_framework import serializers


from .events import EVENT_TYPES, TEST_EVENT_TYPE
from .models import Delivery
from .services import SECRET_OVERLAPS

SUBSCRIBABLE = [*EVENT_TYPES, "*"]
EVENT_TYPE_CHOICES = [*EVENT_TYPES, TEST_EVENT_TYPE]  # what a delivery can carry
OPTIONAL_DATE_TIME = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}


# --- Endpoints -----------------------------------------------------------------------------------

class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `whk_…`.")
    url = serializers.URLField()
    description = serializers.CharField(allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE),
                                   help_text='Subscribed event types, or `["*"]` for every type.')
    enabled = serializers.BooleanField()
    disabledAt = serializers.DateTimeField(allow_null=True)
    disabledReason = serializers.CharField(allow_null=True, help_text="Why it was disabled (by a user, or "
                                                                      "automatically after failing for days).")
    lastAttemptAt = serializers.DateTimeField(allow_null=True)
    lastStatus = serializers.IntegerField(allow_null=True, help_text="HTTP status of the last attempt.")
    lastError = serializers.CharField(allow_null=True)
    lastSuccessAt = serializers.DateTimeField(allow_null=True)
    failingSince = serializers.DateTimeField(allow_null=True, help_text="First failure since the last success.")
    disablesAt = serializers.DateTimeField(allow_null=True,
                                           help_text="When it will be disabled if it keeps failing.")
    previousSecretExpiresAt = serializers.DateTimeField(
        allow_null=True, help_text="After a secret rotation, the old secret also signs until then.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    attempts24h = serializers.IntegerField(required=False, min_value=0,
                                           help_text="Delivery attempts in the last 24 hours (list and get).")
    successRate24h = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100,
                                            help_text="Percentage of those that succeeded; null without attempts.")


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The `whsec_…` signing secret. Shown only in this response.")


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2048, help_text="A public https URL.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE), min_length=1,
                                   help_text='Event types to receive, or `["*"]` (alone) for every type.')
    description = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)


class WebhookUpdateSerializer(serializers.Serializer):
    """Only the fields sent change; other fields are refused. Re-enabling clears the failure record."""

    url = serializers.URLField(max_length=2048, required=False, help_text="A public https URL.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE), min_length=1,
                                   required=False)
    description = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class WebhookDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    deleted = serializers.BooleanField()


class RotateSecretSerializer(serializers.Serializer):
    overlap = serializers.ChoiceField(choices=list(SECRET_OVERLAPS), required=False, default="24h",
                                      help_text="How long the old secret keeps signing alongside the new one.")


class RecoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Re-send every failed delivery created at or after this time.")


CREATE_WEBHOOK_EXAMPLE = OpenApiExample("Calls and texts", request_only=True, value={
    "url": "https://example.com/webhooks/aiphone", "events": ["call.completed", "sms.received"],
    "description": "CRM sync",
})
UPDATE_WEBHOOK_EXAMPLE = OpenApiExample("Pause an endpoint", request_only=True, value={"enabled": False})
RECOVER_EXAMPLE = OpenApiExample("Since an outage began", request_only=True, value={"since": "2026-06-28T20:00:00Z"})


# --- Deliveries ----------------------------------------------------------------------------------

class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `del_…`.")
    webhookId = serializers.CharField()
    eventId = serializers.CharField(help_text="`evt_…`; a replay keeps the event id, so dedupe on it.")
    eventType = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES)
    livemode = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    statusReason = serializers.CharField(allow_null=True)
    attemptCount = serializers.IntegerField(min_value=0)
    lastResponseStatus = serializers.IntegerField(allow_null=True)
    nextAttemptAt = serializers.DateTimeField(allow_null=True)
    heldSince = serializers.DateTimeField(allow_null=True, help_text="Held while a live wallet is empty.")
    replayOf = serializers.CharField(allow_null=True, help_text="The delivery this one replays.")
    createdAt = serializers.DateTimeField()
    completedAt = serializers.DateTimeField(allow_null=True)


class AttemptSentSerializer(serializers.Serializer):
    url = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(allow_blank=True)


class AttemptReceivedSerializer(serializers.Serializer):
    status = serializers.IntegerField(allow_null=True, help_text="Null when no response arrived.")
    headers = serializers.DictField(child=serializers.CharField())
    bodyExcerpt = serializers.CharField(allow_blank=True)


class AttemptSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `att_…`.")
    number = serializers.IntegerField(min_value=1)
    startedAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)
    durationMs = serializers.IntegerField(allow_null=True, min_value=0)
    succeeded = serializers.BooleanField()
    errorClass = serializers.CharField(allow_null=True)
    errorMessage = serializers.CharField(allow_null=True)
    request = AttemptSentSerializer(help_text="What was sent (the signature header, never the secret).")
    response = AttemptReceivedSerializer()


class EventSerializer(serializers.Serializer):
    """Every delivery's body: the event, with its type-specific `data`."""

    id = serializers.CharField(help_text="`evt_…`. Delivery is at-least-once: dedupe on it.")
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES)
    createdAt = serializers.DateTimeField()
    businessId = serializers.CharField(help_text="The organisation's id, `biz_…`.")
    data = serializers.DictField(help_text="The event-specific payload (see the webhooks section).")
    livemode = serializers.BooleanField(help_text="False for events caused through a test key or test data.")


class DeliveryDetailSerializer(DeliverySerializer):
    event = EventSerializer(help_text="The exact event sent (every attempt sends the same bytes).")
    attempts = AttemptSerializer(many=True)


class WebhookTestResultSerializer(serializers.Serializer):
    succeeded = serializers.BooleanField()
    delivery = DeliverySerializer()
    attempt = AttemptSerializer(allow_null=True)


class RecoverResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    deliveries = DeliverySerializer(many=True, help_text="The new deliveries, queued now.")


# --- Event payloads (OpenAPI 3.1 webhooks) -------------------------------------------------------

class WebhookTestDataSerializer(serializers.Serializer):
    message = serializers.CharField()
    endpointId = serializers.CharField()


def _event_serializer(event_type: str, data: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """`{id, type, createdAt, businessId, data, livemode}` with `type` fixed and `data` of the event's shape."""
    name = "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "EventSerializer"

    # A constant, not a one-value enum: ten of those would collide as enums of the same field name.
    @extend_schema_field({"type": "string", "const": event_type})
    class EventTypeField(serializers.CharField):
        pass

    return type(name, (EventSerializer,), {
        "__doc__": EVENT_TYPES.get(event_type, "Sent by “Send test event”; never emitted otherwise."),
        "__module__": __name__,
        "type": EventTypeField(),
        "data": data(),
    })


def event_webhook(event_type: str, data: type[serializers.Serializer]) -> OpenApiWebhook:
    return OpenApiWebhook(name=event_type, decorator=extend_schema(
        summary=EVENT_TYPES.get(event_type, "A test event from “Send test event”."),
        description=(
            "POSTed to every enabled endpoint subscribed to this type, signed with `X-AIP-Signature: "
            "t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`. Verify the signature over the raw "
            "body and reject timestamps older than 5 minutes. Answer 2xx within 10 seconds; anything else "
            "is retried with exponential backoff for about three days."
        ),
        tags=["webhook events"],
        request=_event_serializer(event_type, data),
        responses={200: OpenApiResponse(description="Any 2xx acknowledges the delivery.")},
    ))


# One module attribute per event type: SPECTACULAR_SETTINGS["WEBHOOKS"] lists them by import path. The
# phone events are documented in phone/api_schema.py (phone knows their payloads; webhooks does not import phone).
webhook_test = event_webhook(TEST_EVENT_TYPE, WebhookTestDataSerializer)
