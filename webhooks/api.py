"""Public API: webhook endpoints, their delivery logs, test sends, replay and recover (manage:webhooks)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.timefmt import iso
from developer.public_api.base import json_body, parse_optional_datetime
from developer.public_api.exceptions import ValidationFailed
from developer.models import ApiKey
from developer.public_api.openapi import LIST_PARAMETERS, error_response
from developer.public_api.base import PublicApiView, ok

from . import api_schema as docs
from . import services
from .events import EVENT_TYPES, TEST_EVENT_TYPE
from .models import Attempt, Delivery, Endpoint


def endpoint_json(endpoint: Endpoint, health: services.EndpointHealth | None = None) -> dict[str, Any]:
    data = {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
        "disabledAt": iso(endpoint.disabled_at),
        "disabledReason": endpoint.disabled_reason or None,
        "lastAttemptAt": iso(endpoint.last_attempt_at),
        "lastStatus": endpoint.last_status,
        "lastError": endpoint.last_error or None,
        "lastSuccessAt": iso(endpoint.last_success_at),
        "failingSince": iso(endpoint.failing_since),
        "disablesAt": iso(services.disable_deadline(endpoint)),
        "previousSecretExpiresAt": iso(endpoint.previous_secret_expires_at),
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }
    if health is not None:
        data["attempts24h"] = health.attempts_24h
        data["successRate24h"] = health.success_rate_24h
    return data


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.public_id,
        "webhookId": delivery.endpoint.public_id,
        "eventId": delivery.event.public_id,
        "eventType": delivery.event.type,
        "livemode": delivery.event.is_live,
        "status": delivery.status,
        "statusReason": delivery.status_reason or None,
        "attemptCount": delivery.attempt_count,
        "lastResponseStatus": delivery.last_status,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "heldSince": iso(delivery.held_since),
        "replayOf": delivery.replay_of.public_id if delivery.replay_of_id else None,
        "createdAt": iso(delivery.created_at),
        "completedAt": iso(delivery.completed_at),
    }


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.public_id,
        "number": attempt.number,
        "startedAt": iso(attempt.started_at),
        "finishedAt": iso(attempt.finished_at),
        "durationMs": attempt.duration_ms,
        "succeeded": attempt.succeeded,
        "errorClass": attempt.error_class or None,
        "errorMessage": attempt.error_message or None,
        "request": {"url": attempt.request_url, "headers": attempt.request_headers, "body": attempt.request_body},
        "response": {
            "status": attempt.response_status,
            "headers": attempt.response_headers,
            "bodyExcerpt": attempt.response_body_excerpt,
        },
    }


def delivery_detail_json(delivery: Delivery) -> dict[str, Any]:
    return {
        **delivery_json(delivery),
        "event": delivery.event.payload,
        "attempts": [attempt_json(a) for a in delivery.attempts.order_by("number", "id")],
    }


class _WebhookView(PublicApiView):
    required_scope = "manage:webhooks"

    def acting_key(self) -> ApiKey:
        return ApiKey.objects.get(pk=self.request.auth.id)

    def endpoint_for(self, webhook_id: str) -> Endpoint:
        return self.get_owned(self.org_queryset(Endpoint).select_related("organization"), webhook_id,
                              "webhook endpoint")

    def deliveries_of(self, endpoint: Endpoint) -> QuerySet[Delivery]:
        return Delivery.objects.filter(endpoint=endpoint).select_related("event", "endpoint", "replay_of")

    def delivery_for(self, endpoint: Endpoint, delivery_id: str) -> Delivery:
        return self.get_owned(self.deliveries_of(endpoint), delivery_id, "delivery")


_ENDPOINT_DISABLED = error_response("The endpoint is disabled; enable it first.", "ENDPOINT_DISABLED")


class WebhookListCreate(_WebhookView):
    @extend_schema(operation_id="listWebhooks", summary="List webhook endpoints (with 24-hour health)",
                   parameters=LIST_PARAMETERS, responses=docs.WebhookEndpointSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(self.org_queryset(Endpoint), request, view=self)
        health = services.endpoints_health(rows)
        return paginator.get_paginated_response([endpoint_json(e, health[e.pk]) for e in rows])

    @extend_schema(operation_id="createWebhook", summary="Register a webhook endpoint",
                   description="Returns the `whsec_…` signing secret once: store it to verify deliveries. A business "
                               "has a limited number of endpoints (400 when it is reached).",
                   request=docs.WebhookCreateSerializer, examples=[docs.CREATE_WEBHOOK_EXAMPLE],
                   responses={201: docs.WebhookEndpointWithSecretSerializer})
    def post(self, request: Request) -> Response:
        body = json_body(request, fields=("url", "events", "description"))
        key = self.acting_key()
        endpoint, secret = services.endpoint_create(
            organization=key.organization, url=body.get("url"), events=body.get("events"),
            description=body.get("description"), actor=key,
        )
        return ok({**endpoint_json(endpoint), "secret": secret},
                  "Webhook endpoint created. Store the signing secret now: it is shown only once.", status=201)


class WebhookDetail(_WebhookView):
    @extend_schema(operation_id="getWebhook", summary="One webhook endpoint (with 24-hour health)",
                   responses=docs.WebhookEndpointSerializer)
    def get(self, request: Request, webhook_id: str) -> Response:
        endpoint = self.endpoint_for(webhook_id)
        return ok(endpoint_json(endpoint, services.endpoints_health([endpoint])[endpoint.pk]))

    @extend_schema(operation_id="updateWebhook",
                   summary="Change a webhook endpoint (URL, events, description, enabled)",
                   request=docs.WebhookUpdateSerializer, examples=[docs.UPDATE_WEBHOOK_EXAMPLE],
                   responses=docs.WebhookEndpointSerializer)
    def patch(self, request: Request, webhook_id: str) -> Response:
        body = json_body(request)
        allowed = {"url", "events", "description", "enabled"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValidationFailed(fields={name: ["This field cannot be changed."] for name in unknown})
        endpoint = services.endpoint_update(endpoint=self.endpoint_for(webhook_id), actor=self.acting_key(),
                                            **{name: body[name] for name in allowed if name in body})
        return ok(endpoint_json(endpoint), "Webhook endpoint updated.")

    @extend_schema(operation_id="deleteWebhook", summary="Delete a webhook endpoint and its delivery history",
                   responses={200: docs.WebhookDeletedSerializer})
    def delete(self, request: Request, webhook_id: str) -> Response:
        endpoint = self.endpoint_for(webhook_id)
        public_id = endpoint.public_id
        services.endpoint_delete(endpoint=endpoint, actor=self.acting_key())
        return ok({"id": public_id, "deleted": True}, "Webhook endpoint deleted.")


class WebhookTest(_WebhookView):
    @extend_schema(operation_id="testWebhook", summary="Send a test event now and report the attempt",
                   description="Sends a `webhook.test` event (test mode, never billed, not retried) and answers with "
                               "the outcome; a failed delivery is still a 200 with `succeeded: false`.",
                   request=None, responses=docs.WebhookTestResultSerializer)
    def post(self, request: Request, webhook_id: str) -> Response:
        delivery = services.endpoint_send_test(endpoint=self.endpoint_for(webhook_id), actor=self.acting_key())
        attempt = delivery.attempts.order_by("-number").first()
        succeeded = delivery.status == Delivery.Status.SUCCEEDED
        message = "Test event delivered." if succeeded else f"Test event failed: {delivery.status_reason}"
        return ok({"succeeded": succeeded, "delivery": delivery_json(delivery),
                   "attempt": attempt_json(attempt) if attempt else None}, message)


class WebhookRotateSecret(_WebhookView):
    @extend_schema(operation_id="rotateWebhookSecret", summary="Rotate the signing secret with an overlap window",
                   description="Returns the new secret once. The body is optional (overlap defaults to 24h).",
                   request=docs.RotateSecretSerializer, responses=docs.WebhookEndpointWithSecretSerializer)
    def post(self, request: Request, webhook_id: str) -> Response:
        body = json_body(request, fields=("overlap",)) if request.body else {}
        endpoint, secret = services.endpoint_rotate_secret(
            endpoint=self.endpoint_for(webhook_id), overlap=body.get("overlap", "24h"), actor=self.acting_key()
        )
        return ok({**endpoint_json(endpoint), "secret": secret},
                  "Signing secret rotated. Store the new secret now: it is shown only once.")


class WebhookRecover(_WebhookView):
    @extend_schema(operation_id="recoverWebhookDeliveries", summary="Re-send every failed delivery since a time",
                   request=docs.RecoverSerializer, examples=[docs.RECOVER_EXAMPLE],
                   responses={202: docs.RecoverResultSerializer, 409: _ENDPOINT_DISABLED})
    def post(self, request: Request, webhook_id: str) -> Response:
        body = json_body(request, fields=("since",))
        since = parse_optional_datetime(body.get("since"), "since")
        if since is None:
            raise ValidationFailed(fields={"since": ["Give the ISO 8601 time to recover failed deliveries from."]})
        replays = services.endpoint_recover(endpoint=self.endpoint_for(webhook_id), since=since,
                                            actor=self.acting_key())
        return ok({"count": len(replays), "deliveries": [delivery_json(d) for d in replays]},
                  f"Re-sending {len(replays)} failed deliveries.", status=202)


class DeliveryList(_WebhookView):
    @extend_schema(
        operation_id="listWebhookDeliveries", summary="Delivery history of an endpoint (newest first)",
        parameters=[
            *LIST_PARAMETERS,
            # An empty value means no filter, as the dashboard's filter form sends it.
            OpenApiParameter("status", {"type": "string", "enum": [*Delivery.Status.values, ""]}, required=False),
            OpenApiParameter("eventType", {"type": "string", "enum": [*docs.EVENT_TYPE_CHOICES, ""]}, required=False),
            OpenApiParameter("from", docs.OPTIONAL_DATE_TIME, required=False,
                             description="Created at or after (ISO 8601); empty: no lower bound."),
            OpenApiParameter("to", docs.OPTIONAL_DATE_TIME, required=False,
                             description="Created before (ISO 8601); empty: no upper bound."),
        ],
        responses=docs.DeliverySerializer(many=True),
    )
    def get(self, request: Request, webhook_id: str) -> Response:
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
    @extend_schema(operation_id="getWebhookDelivery", summary="One delivery with the event sent and every attempt",
                   responses=docs.DeliveryDetailSerializer)
    def get(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        delivery = self.delivery_for(self.endpoint_for(webhook_id), delivery_id)
        return ok(delivery_detail_json(delivery))


class DeliveryReplay(_WebhookView):
    @extend_schema(operation_id="replayWebhookDelivery", summary="Replay a delivery (same event id)",
                   request=None, responses={202: docs.DeliverySerializer, 409: _ENDPOINT_DISABLED})
    def post(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        delivery = self.delivery_for(self.endpoint_for(webhook_id), delivery_id)
        replay = services.delivery_replay(delivery=delivery, actor=self.acting_key())
        return ok(delivery_json(replay), "Delivery queued again with the same event id.", status=202)
