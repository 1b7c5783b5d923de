"""The Python SDK's typed models against the OpenAPI document: the same fields, the same optionality,
the same enumerations. A field the API adds, drops, makes optional or gives a new value fails here
until sdks/python/src/aiphone360/types.py says so too (the TypeScript SDK's check is a type-level
one, compiled by tsc: see test_typescript_packaging.py)."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, Union

import pytest

# aiphone360 is sdks/python/src, put on sys.path by tests/sdks/conftest.py; it is not on mypy's path.
from aiphone360 import types as sdk  # type: ignore[import-not-found]
from aiphone360._objects import ApiObject, to_camel  # type: ignore[import-not-found]
from drf_spectacular.generators import SchemaGenerator

# Python class → the component schema it reads.
MODELS = {
    "Call": "Call",
    "CallDetail": "CallDetail",
    "ContactRef": "ContactRef",
    "CallAgent": "CallAgent",
    "Voicemail": "Voicemail",
    "Appointment": "Appointment",
    "TranscriptTurn": "TranscriptTurn",
    "Transcript": "Transcript",
    "Recording": "Recording",
    "Contact": "Contact",
    "MessageError": "MessageError",
    "Message": "Message",
    "QuietHours": "QuietHours",
    "AiConfig": "AiConfig",
    "WebhookEvent": "Event",
    "WebhookEndpoint": "WebhookEndpoint",
    "WebhookEndpointWithSecret": "WebhookEndpointWithSecret",
    "WebhookDelivery": "Delivery",
    "WebhookDeliveryDetail": "DeliveryDetail",
    "AttemptRequest": "AttemptSent",
    "AttemptResponse": "AttemptReceived",
    "WebhookAttempt": "Attempt",
    "WebhookTestResult": "WebhookTestResult",
    "WebhookRecoverResult": "RecoverResult",
    "Deleted": "Deleted",
    "RotatedFrom": "RotatedFrom",
    "ApiKey": "ApiKey",
    "ApiKeyWithSecret": "ApiKeyWithSecret",
    "RotatedKey": "RotatedKey",
    "ToolAuth": "ToolAuth",
    "Tool": "Tool",
    "AgentTools": "AgentTools",
    "Agent": "Agent",
    "DataField": "DataField",
    "UsageLine": "UsageLine",
    "KeyUsage": "KeyUsage",
    "DayUsage": "DayUsage",
    "ModeUsage": "ModeUsage",
    "QuotaLine": "QuotaLine",
    "FreeQuota": "FreeQuota",
    "Wallet": "Wallet",
    "BillingPeriod": "BillingPeriod",
    "Usage": "Usage",
    "ContactUpdated": "ContactUpdated",
    "SmsReceived": "SmsReceived",
    "WebhookTestData": "WebhookTestData",
    # The event log (GET /events/{id}).
    "EventWithDeliveries": "EventWithDeliveries",
    # The event classes `verify_webhook` returns, one per webhook of the document.
    "CallStartedEvent": "CallStartedEvent",
    "CallCompletedEvent": "CallCompletedEvent",
    "TranscriptReadyEvent": "TranscriptReadyEvent",
    "SmsReceivedEvent": "SmsReceivedEvent",
    "SmsSentEvent": "SmsSentEvent",
    "VoicemailCreatedEvent": "VoicemailCreatedEvent",
    "ContactCreatedEvent": "ContactCreatedEvent",
    "ContactUpdatedEvent": "ContactUpdatedEvent",
    "AppointmentBookedEvent": "AppointmentBookedEvent",
    "WebhookTestEvent": "WebhookTestEvent",
    # issue 18 additions
    "KnowledgeBase": "KnowledgeBase",
    "SmsStatusUpdated": "SmsStatusUpdated",
    "ContactDeleted": "ContactDeleted",
    "SmsStatusUpdatedEvent": "SmsStatusUpdatedEvent",
    "ContactDeletedEvent": "ContactDeletedEvent",
}
SDK_ONLY = {"last_response"}  # the HTTP answer, not a wire field


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    return document["components"]["schemas"]


def _resolve(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node or ("allOf" in node and len(node["allOf"]) == 1):
        node = schemas[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node["allOf"][0]
    return node


def _nullable(node: dict[str, Any], schemas: dict[str, Any]) -> bool:
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(
        _nullable(_resolve(option, schemas), schemas) for option in node.get("oneOf", []) + node.get("anyOf", [])
    )


def _enum(node: dict[str, Any], schemas: dict[str, Any]) -> set[Any] | None:
    node = _resolve(node, schemas)
    if "const" in node:
        return {node["const"]}
    if "enum" in node:
        return {value for value in node["enum"] if value is not None}
    values: set[Any] = set()
    for option in node.get("oneOf", []) + node.get("anyOf", []):
        found = _enum(option, schemas)
        if found:
            values |= found
    return values or None


def _allows_none(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint)


def _literals(hint: Any) -> set[Any] | None:
    if typing.get_origin(hint) is Literal:
        return set(typing.get_args(hint))
    if typing.get_origin(hint) in (Union, types.UnionType, list):
        found = [_literals(arg) for arg in typing.get_args(hint)]
        values = set().union(*[f for f in found if f])
        return values or None
    return None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_has_the_documented_fields_optionality_and_enums(name: str, schemas: dict[str, Any]) -> None:
    cls = getattr(sdk, name)
    assert issubclass(cls, ApiObject)
    schema = _resolve(schemas[MODELS[name]], schemas)
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    hints = {field: hint for field, hint in typing.get_type_hints(cls).items() if field not in SDK_ONLY}

    assert {to_camel(field) for field in hints} == set(properties), name
    for field, hint in hints.items():
        wire = to_camel(field)
        prop = properties[wire]
        may_be_absent = wire not in required or _nullable(_resolve(prop, schemas), schemas) or _nullable(prop, schemas)
        assert _allows_none(hint) == may_be_absent, f"{name}.{field}: {hint} vs required={wire in required}"
        items = prop.get("items") if _resolve(prop, schemas).get("type") == "array" else None
        documented = _enum(items if items else prop, schemas)
        if documented is not None and documented != {True}:
            assert _literals(hint) == documented, f"{name}.{field}: {_literals(hint)} vs {documented}"


def test_every_response_component_has_a_model(schemas: dict[str, Any]) -> None:
    """A new resource in the document needs its SDK model (requests, enums and envelopes aside)."""
    objects = {
        name
        for name, schema in schemas.items()
        if schema.get("type") == "object"
        and "properties" in schema
        and not name.endswith("Request")
        and not name.startswith("Paginated")
        and name not in {"ErrorEnvelope", "BusinessHours", "OpeningInterval", "WebhookDeleted"}
    }
    assert objects - set(MODELS.values()) == set()


def test_every_webhook_of_the_document_has_its_event_class() -> None:
    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    assert set(sdk.EVENT_CLASSES) == set(document["webhooks"])
    for event_type, operations in document["webhooks"].items():
        component = operations["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert sdk.EVENT_CLASSES[event_type].__name__ == component.rsplit("/", 1)[-1]
    assert set(typing.get_args(sdk.Event)) == set(sdk.EVENT_CLASSES.values())
