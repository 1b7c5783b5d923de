"""Public API: webhook endpoints, their delivery logs, test sends, replay and recover (manage:webhooks).

The serializers first document what the views send, so the OpenAPI document, the docs page and
schemathesis agree with it. Event payloads are OpenAPI 3.1 `webhooks`, one per event type, listed by
import path in SPECTACULAR_SETTINGS["WEBHOOKS"] (a test checks none is missing).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    OpenApiWebhook,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.response import Response

from core import rotation
from developer.models import ApiKey
from developer.public_api.base import (
    PublicApiView,
    json_body,
    ok,
    parse_optional_datetime,
)
from developer.public_api.exceptions import ValidationFailed
from developer.public_api.openapi import LIST_PARAMETERS, error_response
from developer.public_api.pagination import parse_limit
from developer.public_api.requests import ApiRequest, ApiResponse

from . import event_log, services
from .events import EVENT_TYPES, TEST_EVENT_TYPE
from .models import ALL_MODES, Delivery, Endpoint, Event
from .payloads import attempt_json, delivery_detail_json, delivery_json, endpoint_json

SUBSCRIBABLE = [*EVENT_TYPES, "*"]
_MODES_HELP = (
    'Which events the endpoint receives: `["live"]` (events caused by live keys and live calls), `["test"]` '
    '(test-mode events, `livemode: false`), or `["live", "test"]`, the default. An event of a mode the endpoint '
    "does not list is not delivered to it (no delivery, no attempt, nothing metered). “Send test event” and "
    "replays of existing deliveries go out whatever it lists."
)
EVENT_TYPE_CHOICES = [*EVENT_TYPES, TEST_EVENT_TYPE]  # what a delivery can carry
OPTIONAL_DATE_TIME = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}


# --- Endpoints -----------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `whk_…`.")
    url = serializers.URLField()
    description = serializers.CharField(allow_blank=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE),
        help_text='Subscribed event types, or `["*"]` for every type.',
    )
    modes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_MODES), help_text=_MODES_HELP)
    enabled = serializers.BooleanField()
    disabledAt = serializers.DateTimeField(allow_null=True)
    disabledReason = serializers.CharField(
        allow_null=True, help_text="Why it was disabled (by a user, or automatically after failing for days)."
    )
    lastAttemptAt = serializers.DateTimeField(allow_null=True)
    lastStatus = serializers.IntegerField(allow_null=True, help_text="HTTP status of the last attempt.")
    lastError = serializers.CharField(allow_null=True)
    lastSuccessAt = serializers.DateTimeField(allow_null=True)
    failingSince = serializers.DateTimeField(allow_null=True, help_text="First failure since the last success.")
    disablesAt = serializers.DateTimeField(allow_null=True, help_text="When it will be disabled if it keeps failing.")
    previousSecretExpiresAt = serializers.DateTimeField(
        allow_null=True, help_text="After a secret rotation, the old secret also signs until then."
    )
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    attempts24h = serializers.IntegerField(
        required=False, min_value=0, help_text="Delivery attempts in the last 24 hours (list and get)."
    )
    successRate24h = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text="Percentage of those that succeeded; null without attempts.",
    )


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The `whsec_…` signing secret. Shown only in this response.")


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2048, help_text="A public https URL.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE),
        min_length=1,
        help_text='Event types to receive, or `["*"]` (alone) for every type.',
    )
    modes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_MODES),
        min_length=1,
        max_length=2,
        required=False,
        help_text=_MODES_HELP + " Each mode at most once.",
    )
    description = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)


class WebhookUpdateSerializer(serializers.Serializer):
    """Only the fields sent change; other fields are refused. Re-enabling clears the failure record."""

    url = serializers.URLField(max_length=2048, required=False, help_text="A public https URL.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE), min_length=1, required=False)
    modes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_MODES),
        min_length=1,
        max_length=2,
        required=False,
        help_text=_MODES_HELP + " Each mode at most once.",
    )
    description = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class WebhookDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    deleted = serializers.BooleanField()


class RotateSecretSerializer(serializers.Serializer):
    overlap = serializers.ChoiceField(
        choices=list(rotation.WINDOWS),
        required=False,
        default=rotation.DEFAULT,
        help_text="How long the old secret keeps signing alongside the new one.",
    )


class RecoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Re-send every failed delivery created at or after this time.")


CREATE_WEBHOOK_EXAMPLE = OpenApiExample(
    "Calls and texts",
    request_only=True,
    value={
        "url": "https://example.com/webhooks/aiphone",
        "events": ["call.completed", "sms.received"],
        "modes": ["live"],
        "description": "CRM sync",
    },
)
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
    headers = serializers.DictField(
        child=serializers.CharField(),
        help_text="Lower-case names; Date, Content-Length and connection headers are not kept.",
    )
    bodyExcerpt = serializers.CharField(allow_blank=True, help_text="The first 4 KB of the body.")


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
    # The wire name shadows Serializer.data; SerializerMetaclass pops declared fields off the class.
    data = serializers.DictField(help_text="The event-specific payload (see the webhooks section).")  # type: ignore[assignment]
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

    return type(
        name,
        (EventSerializer,),
        {
            "__doc__": EVENT_TYPES.get(event_type, "Sent by “Send test event”; never emitted otherwise."),
            "__module__": __name__,
            "type": EventTypeField(),
            "data": data(),
        },
    )


def event_webhook(event_type: str, data: type[serializers.Serializer]) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=event_type,
        decorator=extend_schema(
            summary=EVENT_TYPES.get(event_type, "A test event from “Send test event”."),
            description=(
                "POSTed to every enabled endpoint subscribed to this type, signed with `X-AIP-Signature: "
                't=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Verify the signature over the raw '
                "body and reject timestamps older than 5 minutes. Answer 2xx within 10 seconds; anything else "
                "is retried with exponential backoff for about three days."
            ),
            tags=["webhook events"],
            request=_event_serializer(event_type, data),
            responses={200: OpenApiResponse(description="Any 2xx acknowledges the delivery.")},
        ),
    )


# One module attribute per event type: SPECTACULAR_SETTINGS["WEBHOOKS"] lists them by import path. The
# phone events are documented in phone/api.py (phone knows their payloads; webhooks does not import phone).
webhook_test = event_webhook(TEST_EVENT_TYPE, WebhookTestDataSerializer)


# --- views ----------------------------------------------------------------------------------------


class _WebhookView(PublicApiView):
    required_scope = "manage:webhooks"

    def acting_key(self) -> ApiKey:
        return ApiKey.objects.get(pk=self.request.auth.id)

    def endpoint_for(self, webhook_id: str) -> Endpoint:
        return self.get_owned(
            self.org_queryset(Endpoint).select_related("organization"), webhook_id, "webhook endpoint"
        )

    def deliveries_of(self, endpoint: Endpoint) -> QuerySet[Delivery]:
        return Delivery.objects.filter(endpoint=endpoint).select_related("event", "endpoint", "replay_of")

    def delivery_for(self, endpoint: Endpoint, delivery_id: str) -> Delivery:
        return self.get_owned(self.deliveries_of(endpoint), delivery_id, "delivery")


_ENDPOINT_DISABLED = error_response("The endpoint is disabled; enable it first.", "ENDPOINT_DISABLED")


class WebhookListCreate(_WebhookView):
    @extend_schema(
        operation_id="listWebhooks",
        summary="List webhook endpoints (with 24-hour health)",
        parameters=LIST_PARAMETERS,
        responses=WebhookEndpointSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(self.org_queryset(Endpoint), request, view=self)
        health = services.endpoints_health(rows)
        return paginator.get_paginated_response([endpoint_json(e, health[e.pk]) for e in rows])

    @extend_schema(
        operation_id="createWebhook",
        summary="Register a webhook endpoint",
        description="Returns the `whsec_…` signing secret once: store it to verify deliveries. A business "
        "has a limited number of endpoints (400 when it is reached).",
        request=WebhookCreateSerializer,
        examples=[CREATE_WEBHOOK_EXAMPLE],
        responses={201: WebhookEndpointWithSecretSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        body = json_body(request, fields=("url", "events", "modes", "description"))
        key = self.acting_key()
        endpoint, secret = services.endpoint_create(
            organization=key.organization,
            url=body.get("url"),
            events=body.get("events"),
            description=body.get("description"),
            **({"modes": body["modes"]} if "modes" in body else {}),
            actor=key,
        )
        return ok(
            {**endpoint_json(endpoint), "secret": secret},
            "Webhook endpoint created. Store the signing secret now: it is shown only once.",
            status=201,
        )


class WebhookDetail(_WebhookView):
    @extend_schema(
        operation_id="getWebhook",
        summary="One webhook endpoint (with 24-hour health)",
        responses=WebhookEndpointSerializer,
    )
    def get(self, request: ApiRequest, webhook_id: str) -> Response:
        endpoint = self.endpoint_for(webhook_id)
        return ok(endpoint_json(endpoint, services.endpoints_health([endpoint])[endpoint.pk]))

    @extend_schema(
        operation_id="updateWebhook",
        summary="Change a webhook endpoint (URL, events, modes, description, enabled)",
        request=WebhookUpdateSerializer,
        examples=[UPDATE_WEBHOOK_EXAMPLE],
        responses=WebhookEndpointSerializer,
    )
    def patch(self, request: ApiRequest, webhook_id: str) -> Response:
        body = json_body(request)
        allowed = {"url", "events", "modes", "description", "enabled"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValidationFailed(fields={name: ["This field cannot be changed."] for name in unknown})
        endpoint = services.endpoint_update(
            endpoint=self.endpoint_for(webhook_id),
            actor=self.acting_key(),
            **{name: body[name] for name in allowed if name in body},
        )
        return ok(endpoint_json(endpoint), "Webhook endpoint updated.")

    @extend_schema(
        operation_id="deleteWebhook",
        summary="Delete a webhook endpoint and its delivery history",
        responses={200: WebhookDeletedSerializer},
    )
    def delete(self, request: ApiRequest, webhook_id: str) -> Response:
        endpoint = self.endpoint_for(webhook_id)
        public_id = endpoint.public_id
        services.endpoint_delete(endpoint=endpoint, actor=self.acting_key())
        return ok({"id": public_id, "deleted": True}, "Webhook endpoint deleted.")


class WebhookTest(_WebhookView):
    @extend_schema(
        operation_id="testWebhook",
        summary="Send a test event now and report the attempt",
        description="Sends a `webhook.test` event (test mode, never billed, not retried) and answers with "
        "the outcome; a failed delivery is still a 200 with `succeeded: false`.",
        request=None,
        responses=WebhookTestResultSerializer,
    )
    def post(self, request: ApiRequest, webhook_id: str) -> Response:
        delivery = services.endpoint_send_test(endpoint=self.endpoint_for(webhook_id), actor=self.acting_key())
        attempt = delivery.attempts.order_by("-number").first()
        succeeded = delivery.status == Delivery.Status.SUCCEEDED
        message = "Test event delivered." if succeeded else f"Test event failed: {delivery.status_reason}"
        return ok(
            {
                "succeeded": succeeded,
                "delivery": delivery_json(delivery),
                "attempt": attempt_json(attempt) if attempt else None,
            },
            message,
        )


class WebhookRotateSecret(_WebhookView):
    @extend_schema(
        operation_id="rotateWebhookSecret",
        summary="Rotate the signing secret with an overlap window",
        description=f"Returns the new secret once. The body is optional (overlap defaults to {rotation.DEFAULT}).",
        request=RotateSecretSerializer,
        responses=WebhookEndpointWithSecretSerializer,
    )
    def post(self, request: ApiRequest, webhook_id: str) -> Response:
        body = json_body(request, fields=("overlap",)) if request.body else {}
        endpoint, secret = services.endpoint_rotate_secret(
            endpoint=self.endpoint_for(webhook_id),
            overlap=body.get("overlap", rotation.DEFAULT),
            actor=self.acting_key(),
        )
        return ok(
            {**endpoint_json(endpoint), "secret": secret},
            "Signing secret rotated. Store the new secret now: it is shown only once.",
        )


class WebhookRecover(_WebhookView):
    @extend_schema(
        operation_id="recoverWebhookDeliveries",
        summary="Re-send every failed delivery since a time",
        request=RecoverSerializer,
        examples=[RECOVER_EXAMPLE],
        responses={202: RecoverResultSerializer, 409: _ENDPOINT_DISABLED},
    )
    def post(self, request: ApiRequest, webhook_id: str) -> Response:
        body = json_body(request, fields=("since",))
        since = parse_optional_datetime(body.get("since"), "since")
        if since is None:
            raise ValidationFailed(fields={"since": ["Give the ISO 8601 time to recover failed deliveries from."]})
        replays = services.endpoint_recover(
            endpoint=self.endpoint_for(webhook_id), since=since, actor=self.acting_key()
        )
        return ok(
            {"count": len(replays), "deliveries": [delivery_json(d) for d in replays]},
            f"Re-sending {len(replays)} failed deliveries.",
            status=202,
        )


class DeliveryList(_WebhookView):
    @extend_schema(
        operation_id="listWebhookDeliveries",
        summary="Delivery history of an endpoint (newest first)",
        parameters=[
            *LIST_PARAMETERS,
            # An empty value means no filter, as the dashboard's filter form sends it.
            OpenApiParameter("status", {"type": "string", "enum": [*Delivery.Status.values, ""]}, required=False),
            OpenApiParameter("eventType", {"type": "string", "enum": [*EVENT_TYPE_CHOICES, ""]}, required=False),
            OpenApiParameter(
                "from",
                OPTIONAL_DATE_TIME,
                required=False,
                description="Created at or after (ISO 8601); empty: no lower bound.",
            ),
            OpenApiParameter(
                "to",
                OPTIONAL_DATE_TIME,
                required=False,
                description="Created before (ISO 8601); empty: no upper bound.",
            ),
        ],
        responses=DeliverySerializer(many=True),
    )
    def get(self, request: ApiRequest, webhook_id: str) -> Response:
        endpoint = self.endpoint_for(webhook_id)
        return self.paginate(filter_deliveries(self.deliveries_of(endpoint), request.query_params), delivery_json)


def filter_deliveries(queryset: QuerySet[Delivery], params: Any) -> QuerySet[Delivery]:
    """The status, eventType and from/to filters, shared with the dashboard's log."""
    errors: dict[str, list[str]] = {}
    status = params.get("status")
    if status:
        if status not in Delivery.Status.values:
            errors["status"] = [f"Must be one of: {', '.join(Delivery.Status.values)}."]
        else:
            queryset = queryset.filter(status=status)
    event_type = params.get("eventType")
    if event_type:
        if event_type not in EVENT_TYPES and event_type != TEST_EVENT_TYPE:
            errors["eventType"] = [f"Must be one of: {', '.join([*EVENT_TYPES, TEST_EVENT_TYPE])}."]
        else:
            queryset = queryset.filter(event__type=event_type)
    for name, lookup in (("from", "created_at__gte"), ("to", "created_at__lt")):
        try:
            value = parse_optional_datetime(params.get(name), name)
        except ValidationFailed as exc:
            errors.update(exc.fields or {})
            continue
        if value is not None:
            queryset = queryset.filter(**{lookup: value})
    if errors:
        raise ValidationFailed(fields=errors)
    return queryset


class DeliveryDetail(_WebhookView):
    @extend_schema(
        operation_id="getWebhookDelivery",
        summary="One delivery with the event sent and every attempt",
        responses=DeliveryDetailSerializer,
    )
    def get(self, request: ApiRequest, webhook_id: str, delivery_id: str) -> Response:
        delivery = self.delivery_for(self.endpoint_for(webhook_id), delivery_id)
        return ok(delivery_detail_json(delivery))


class DeliveryReplay(_WebhookView):
    @extend_schema(
        operation_id="replayWebhookDelivery",
        summary="Replay a delivery (same event id)",
        request=None,
        responses={202: DeliverySerializer, 409: _ENDPOINT_DISABLED},
    )
    def post(self, request: ApiRequest, webhook_id: str, delivery_id: str) -> Response:
        delivery = self.delivery_for(self.endpoint_for(webhook_id), delivery_id)
        replay = services.delivery_replay(delivery=delivery, actor=self.acting_key())
        return ok(delivery_json(replay), "Delivery queued again with the same event id.", status=202)


# --- Event log (GET /events) ------------------------------------------------------------------------


class EventWithDeliveriesSerializer(EventSerializer):
    deliveries = DeliverySerializer(
        many=True,
        help_text="Each endpoint's delivery of this event (replays included), oldest first; empty when no "
        "endpoint was subscribed to it.",
    )


_LOGGED_TYPES = [t for t in EVENT_TYPE_CHOICES if t != TEST_EVENT_TYPE]
_EVENT_LOG_HELP = (
    "The events of the key's mode (a test key sees test events, a live key live ones) of the last 30 days, "
    "exactly as delivered to webhooks (the `webhook.test` pings of “Send test event” are not in the log).\n\n"
    "**Browsing**: newest first, with `cursor` pagination and the `type`, `from` and `to` filters.\n\n"
    "**Following without a public URL**: `after=evt_…` returns the events after that one in **ascending** order "
    "(oldest first; continue with `after=` the last id returned; `cursor` is not used). An event appears in "
    "this stream once it is one second old, so a slower transaction cannot commit an older event behind one "
    "already read. With `wait=1..25`, an answer with no event yet waits up to that many seconds and returns as "
    "soon as one exists (long poll); it answers with an empty list when the time is up. Each server process "
    "runs a few long polls at once: past that, the request is answered at once with `Retry-After: 1` (poll "
    "again after it). `aiphone360 listen` in both SDKs follows this stream and forwards events to a local URL."
)


class EventList(_WebhookView):
    @extend_schema(
        operation_id="listEvents",
        summary="The event log: browse recent events, or follow them with a long poll",
        description=_EVENT_LOG_HELP,
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("type", {"type": "string", "enum": [*_LOGGED_TYPES, ""]}, required=False),
            OpenApiParameter("from", OPTIONAL_DATE_TIME, required=False, description="Created at or after (ISO 8601)."),
            OpenApiParameter("to", OPTIONAL_DATE_TIME, required=False, description="Created before (ISO 8601)."),
            OpenApiParameter(
                "after",
                # Empty means none, as for the other filters.
                {"anyOf": [{"type": "string", "pattern": "^evt_"}, {"type": "string", "maxLength": 0}]},
                required=False,
                description="An event id of this log: return the events after it, oldest first (`cursor` is then "
                "ignored). An id that is not in the log (another business's or mode's, or older than 30 days) is a 404.",
            ),
            OpenApiParameter(
                "wait",
                {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 25}, {"type": "string", "maxLength": 0}]},
                required=False,
                description="With `after`: seconds (0–25) to wait for a first event before answering empty "
                "(ignored without `after`).",
            ),
        ],
        responses={
            200: EventSerializer(many=True),
            404: error_response("`after` names no event of this log.", "RESOURCE_NOT_FOUND"),
        },
    )
    def get(self, request: ApiRequest) -> Response:
        params = request.query_params
        events = self.event_log().order_by()
        event_type = params.get("type")
        errors: dict[str, list[str]] = {}
        if event_type:
            if event_type not in _LOGGED_TYPES:
                errors["type"] = [f"Must be one of: {', '.join(_LOGGED_TYPES)}."]
            else:
                events = events.filter(type=event_type)
        for name, lookup in (("from", "created_at__gte"), ("to", "created_at__lt")):
            try:
                value = parse_optional_datetime(params.get(name), name)
            except ValidationFailed as exc:
                errors.update(exc.fields or {})
                continue
            if value is not None:
                events = events.filter(**{lookup: value})
        anchor_id = params.get("after") or None
        wait = _parse_wait(params.get("wait"), errors)
        if errors:
            raise ValidationFailed(fields=errors)
        if anchor_id is None:
            return self.paginate(events, _event_json)

        anchor = self.get_owned(self.event_log(), anchor_id, "event")
        limit = parse_limit(params.get("limit"))
        page = event_log.wait_after(
            events,
            anchor,
            limit=limit,
            wait=wait,
            organization_id=request.auth.organization_id,
            mode=request.auth.mode,
        )
        response = ApiResponse([_event_json(event) for event in page.events])
        response.pagination = {"nextCursor": None, "hasMore": page.has_more, "limit": limit}
        if page.refused_wait:
            response["Retry-After"] = "1"
            response.message = "Too many long polls on this server right now: poll again after Retry-After."
        return response

    def event_log(self) -> QuerySet[Event]:
        return event_log.events_of(organization_id=self.request.auth.organization_id, mode=self.request.auth.mode)


class EventDetail(_WebhookView):
    @extend_schema(
        operation_id="getEvent",
        summary="One event with each endpoint's delivery status",
        description="An event of the key's mode from the last 30 days; another business's or the other mode's "
        "id is a 404, as is an event already pruned.",
        responses=EventWithDeliveriesSerializer,
    )
    def get(self, request: ApiRequest, event_id: str) -> Response:
        events = event_log.events_of(organization_id=request.auth.organization_id, mode=request.auth.mode)
        event = self.get_owned(events, event_id, "event")
        return ok({**_event_json(event), "deliveries": [delivery_json(d) for d in event_log.deliveries_of(event)]})


def _event_json(event: Event) -> dict[str, Any]:
    return event.payload  # the exact object every delivery of it sends


def _parse_wait(raw: str | None, errors: dict[str, list[str]]) -> float:
    if raw is None or raw == "":
        return 0.0
    if not raw.isdigit() or not 0 <= int(raw) <= event_log.MAX_WAIT_SECONDS:
        errors["wait"] = [f"Must be a whole number of seconds from 0 to {event_log.MAX_WAIT_SECONDS}."]
        return 0.0
    return float(raw)
