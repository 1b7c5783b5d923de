"""The wire dicts of the webhooks API: endpoints (with their health), deliveries and attempts."""

from __future__ import annotations

from typing import Any

from core.timefmt import iso

from . import services
from .models import Attempt, Delivery, Endpoint


def endpoint_json(endpoint: Endpoint, health: services.EndpointHealth | None = None) -> dict[str, Any]:
    data = {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "modes": list(endpoint.modes),
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
        "replayOf": delivery.replay_of.public_id if delivery.replay_of is not None else None,
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
