"""The OpenAPI document: served publicly, valid OpenAPI 3.1, every public route documented with its
envelopes, errors, security schemes, camelCase names and webhook event payloads. The payload schemas
are checked against events the platform really emits."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import jsonschema
import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.validation import validate_schema

from phone import services as phone
from phone.ai_config_rules import WEEKDAYS
from phone.api import SEARCH_MAX_LENGTH
from phone.models import Call
from phone.services import Turn
from tests.conftest import API
from webhooks.events import EVENT_TYPES, TEST_EVENT_TYPE
from webhooks.models import Event

SHARED_ERRORS = {"401", "402", "403", "405", "406", "429", "500", "503"}
METHODS = ("get", "post", "put", "patch", "delete")
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def public_routes() -> set[tuple[str, str]]:
    """(path as OpenAPI writes it, method) for every handler of every view under the API prefix."""
    found: set[tuple[str, str]] = set()
    api = next(
        p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and str(p.pattern) == API.strip("/") + "/"
    )
    for pattern in api.url_patterns:
        if not isinstance(pattern, URLPattern) or str(pattern.pattern) in ("openapi.json", "^.*$"):
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        view = getattr(pattern.callback, "view_class", None)
        assert view is not None, f"{path} is not a class-based view"
        found |= {(path, method) for method in METHODS if hasattr(view, method)}
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def resolve_response(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in response:
        return document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_document_is_served_without_a_key_and_is_valid_openapi_3_1(client: Any) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = json.loads(response.content)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "https://api.aiphone360.com/api/public/v1"}]
    validate_schema(document)  # drf-spectacular's copy of the OpenAPI 3.1 meta-schema


def test_every_public_route_and_method_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    documented = {(path, method) for path, method, _ in operations(document)}
    routes = public_routes()
    assert ("/messages", "post") in routes and ("/calls/{call_id}", "get") in routes
    assert documented == routes


def test_every_operation_has_an_explicit_camelcase_operation_id_and_a_summary(document: dict[str, Any]) -> None:
    ids = [op.get("operationId", "") for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    for path, method, op in operations(document):
        assert CAMEL.match(op["operationId"]), (path, method, op["operationId"])
        assert "_" not in op["operationId"], "a generated id (calls_retrieve): add operation_id= to extend_schema"
        assert op.get("summary"), (path, method)


def test_every_operation_lists_every_error_it_can_return_in_the_error_envelope(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        responses = op["responses"]
        expected = set(SHARED_ERRORS)
        if op.get("parameters") or op.get("requestBody"):
            expected.add("400")
        if "{" in path:
            expected.add("404")
        if op.get("requestBody"):
            expected.add("415")
        assert expected <= set(responses), (path, method, expected - set(responses))
        for status, response in responses.items():
            response = resolve_response(document, response)
            assert "X-Request-Id" in response["headers"], (path, method, status)
            if status.startswith("2"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, method, status)
            assert "Codes:" in response["description"]
        assert "Retry-After" in resolve_response(document, responses["429"])["headers"]


def test_success_bodies_are_wrapped_in_the_envelope(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, (path, method)
        for status, response in successes.items():
            schema = resolve(document, response["content"]["application/json"]["schema"])
            assert schema["required"][:2] == ["success", "data"], (path, method, status)
            assert set(schema["properties"]) >= {"success", "data", "message"}
            if method == "get" and "pagination" in schema["properties"]:
                assert {p["name"] for p in op["parameters"]} >= {"limit", "cursor"}, (path, method)


def test_lists_document_their_pagination_and_filters(document: dict[str, Any]) -> None:
    calls = {p["name"]: p for p in document["paths"]["/calls"]["get"]["parameters"]}
    assert set(calls) == {"limit", "cursor", "direction", "dateRange", "search"}
    assert calls["direction"]["schema"]["enum"] == ["inbound", "outbound"]
    assert calls["search"]["schema"]["maxLength"] == SEARCH_MAX_LENGTH
    contacts = {p["name"] for p in document["paths"]["/contacts"]["get"]["parameters"]}
    assert contacts == {"limit", "cursor", "search"}
    deliveries = {p["name"] for p in document["paths"]["/webhooks/{webhook_id}/deliveries"]["get"]["parameters"]}
    assert deliveries >= {"limit", "cursor", "status", "eventType", "from", "to", "webhook_id"}


def test_field_and_parameter_names_are_camelcase(document: dict[str, Any]) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name in node.get("properties", {}):
                assert CAMEL.match(name), f"{where}: {name}"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(document["components"]["schemas"], "components")
    for path, method, op in operations(document):
        for parameter in op.get("parameters", []):
            if parameter["in"] == "query":
                assert CAMEL.match(parameter["name"]), (path, method, parameter["name"])


def test_bearer_and_x_api_key_are_the_security_schemes_of_every_operation(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyHeader"] == {**schemes["apiKeyHeader"], "type": "apiKey", "in": "header", "name": "x-api-key"}
    for path, method, op in operations(document):
        scopes = op["x-required-scopes"]
        assert op["security"] == [{"bearerAuth": scopes}, {"apiKeyHeader": scopes}], (path, method)


def test_sending_a_message_documents_the_idempotency_key_and_its_conflicts(document: dict[str, Any]) -> None:
    op = document["paths"]["/messages"]["post"]
    header = next(p for p in op["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header.get("required", False) is False
    assert header["schema"]["maxLength"] == 255
    assert "IDEMPOTENCY_KEY_IN_USE" in op["responses"]["409"]["description"]
    for code in ("IDEMPOTENCY_KEY_REUSED", "RECIPIENT_OPTED_OUT", "QUIET_HOURS", "NO_SMS_NUMBER", "SMS_REJECTED"):
        assert code in op["responses"]["422"]["description"]
    assert "SMS_CARRIER_UNAVAILABLE" in op["responses"]["502"]["description"]
    assert "Idempotent-Replayed" in op["responses"]["201"]["headers"]
    body = document["components"]["schemas"]["SendMessageRequest"]
    assert body["required"] == ["body", "to"] and body["additionalProperties"] is False
    assert body["properties"]["body"]["maxLength"] == 1600


def test_request_bodies_are_closed_to_unknown_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in (
        "ContactCreateRequest",
        "PatchedContactUpdateRequest",
        "SendMessageRequest",
        "PatchedAiConfigUpdateRequest",
        "WebhookCreateRequest",
        "PatchedWebhookUpdateRequest",
        "RecoverRequest",
        "RotateSecretRequest",
        "KeyCreateRequest",
        "KeyRotateRequest",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["Contact"]  # responses may grow new fields


def test_business_hours_document_exactly_the_weekdays_the_rules_accept(document: dict[str, Any]) -> None:
    hours = document["components"]["schemas"]["BusinessHoursRequest"]
    assert tuple(hours["properties"]) == WEEKDAYS and hours["additionalProperties"] is False


def test_every_webhook_event_type_is_documented_with_its_delivery_headers(document: dict[str, Any]) -> None:
    assert set(document["webhooks"]) == {*EVENT_TYPES, TEST_EVENT_TYPE}
    for event_type, item in document["webhooks"].items():
        op = item["post"]
        schema = resolve(document, op["requestBody"]["content"]["application/json"]["schema"])
        assert schema["properties"]["type"] == {"type": "string", "const": event_type}
        assert set(schema["required"]) == {"id", "type", "createdAt", "businessId", "data", "livemode"}
        headers = {p["name"] for p in op["parameters"]}
        assert {"X-AIP-Signature", "X-AIP-Event-Id", "X-AIP-Mode"} <= headers
        assert "security" not in op


def _validator(document: dict[str, Any], event_type: str) -> jsonschema.protocols.Validator:
    ref = document["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    root = {**ref, "components": document["components"]}
    cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    return cls(root, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.django_db
def test_events_the_platform_emits_match_their_documented_payloads(
    document: dict[str, Any], org: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    number = "+12125550100"
    phone.business_number_add(organization=org, number=number)
    phone.ai_config_update(
        organization=org, sms_quiet_hours={"start": "00:00", "end": "00:00"}, actor=None
    )  # no quiet hours, whatever the hour of the run
    started = timezone.now() - datetime.timedelta(hours=1)
    call = phone.call_start(
        organization=org,
        direction="inbound",
        from_number="+14155550123",
        to_number=number,
        started_at=started,
        contact_name="Jordan",
        agent_name="Receptionist",
    )
    phone.call_transcript_save(call=call, turns=[Turn("caller", "Hello?", 100), Turn("agent", "Hi!", 900)])
    assert call.contact is not None  # call_start made the caller a contact
    phone.appointment_book(
        organization=org,
        contact=call.contact,
        call=call,
        service="Cleaning",
        starts_at=started + datetime.timedelta(days=3),
    )
    phone.voicemail_create(call=call, transcription="", duration_seconds=12)
    phone.call_complete(
        call=call,
        ended_at=started + datetime.timedelta(minutes=2),
        summary="Booked.",
        outcome=Call.Outcome.APPOINTMENT_BOOKED,
    )
    contact = phone.contact_create(organization=org, phone_number="+14155550199", mode="live")
    phone.contact_update(contact=contact, name="Sam", email="sam@example.com")
    phone.sms_receive(to_number=number, from_number="+14155550199", body="STOP", provider_message_id="SM9")
    phone.sms_receive(to_number=number, from_number="+14155550123", body="Thanks!", provider_message_id="SM10")
    phone.sms_send(organization=org, to_number="+14155550123", body="See you soon", mode="test")
    live = phone.sms_send(organization=org, to_number="+14155550123", body="Running late", mode="live")
    phone.sms_status_update(
        provider_message_id=live.provider_message_id, carrier_status="undelivered", error_code="30003"
    )
    phone.contact_delete(contact=contact, actor=None)

    emitted = {event.type: json.loads(event.body) for event in Event.objects.filter(organization=org)}
    assert set(emitted) == set(EVENT_TYPES)  # every type was produced above
    for event_type, payload in emitted.items():
        errors = sorted(_validator(document, event_type).iter_errors(payload), key=str)
        assert not errors, f"{event_type}: {errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.mark.django_db
def test_the_test_event_matches_its_documented_payload(document: dict[str, Any], org: Any, receiver: Any) -> None:
    from webhooks import services as webhooks

    endpoint, _ = webhooks.endpoint_create(organization=org, url=f"{receiver.url}/hook", events=["*"], actor=None)
    delivery = webhooks.endpoint_send_test(endpoint=endpoint, actor=None)
    assert delivery.status == "succeeded"
    _path, headers, body = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["type"] == TEST_EVENT_TYPE and headers["X-AIP-Mode"] == "test"
    assert not list(_validator(document, TEST_EVENT_TYPE).iter_errors(payload))
    documented = {p["name"] for p in document["webhooks"][TEST_EVENT_TYPE]["post"]["parameters"]}
    assert documented <= set(headers)
