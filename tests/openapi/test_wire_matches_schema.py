"""The wire and the document describe each resource once: every operation's real answer matches its
documented schema, closed to fields the document does not name.

The API renders with fast dict builders (`bench/api_overhead.py` keeps them: DRF serializers cost
8–13× more per object) and documents with serializers; this test is what keeps the two one
definition. Every operation of the document is called once with valid input against a seeded
organisation, and its body is validated against the documented response schema with every object
closed (`additionalProperties: false` unless the document says otherwise), so a field added to a
builder but not to the docs fails here, as does a documented field the builder drops or mistypes.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from developer.scopes import ALL_SCOPES
from developer.services import api_key_create
from phone import services as phone
from phone.models import Call, KnowledgeBase, KnowledgeDocument
from phone.services import Turn
from tests.conftest import API

from .test_document import METHODS, operations

pytestmark = pytest.mark.django_db
NUMBER = "+12125550100"


def closed(node: Any, components: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The schema with every $ref inlined and every object closed to undocumented properties."""
    if isinstance(node, list):
        return [closed(item, components, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        assert name not in seen, f"recursive schema {name}"
        return closed(components[name], components, (*seen, name))
    result = {key: closed(value, components, seen) for key, value in node.items()}
    if "properties" in result and "additionalProperties" not in result:
        result["additionalProperties"] = False
    return result


class Wire:
    """A full-scope test key's client that checks each answer against the document as it goes."""

    def __init__(self, document: dict[str, Any], secret: str) -> None:
        self.document = document
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.called: set[tuple[str, str]] = set()
        self.validator = jsonschema.validators.validator_for(
            {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        )

    def __call__(
        self, method: str, template: str, path: str | None = None, body: Any = None, query: dict[str, str] | None = None
    ) -> Any:
        url = API + (path or template)
        if method == "get":
            response = self.client.get(url, query or {})
        else:
            response = getattr(self.client, method)(url, json.dumps(body or {}), content_type="application/json")
        operation = self.document["paths"][template][method]
        status = str(response.status_code)
        assert status in operation["responses"] and status.startswith("2"), (method, url, response.content[:800])
        content = operation["responses"][status]["content"]
        content_type = response["Content-Type"].split(";")[0]
        assert content_type in content, (method, template, content_type, list(content))
        self.called.add((template, method))
        if content_type != "application/json":
            return response.content
        payload = response.json()
        schema = closed(content[content_type]["schema"], self.document["components"]["schemas"])
        errors = sorted(
            self.validator(schema, format_checker=self.validator.FORMAT_CHECKER).iter_errors(payload),
            key=lambda e: list(e.absolute_path),
        )
        assert not errors, (
            f"{method.upper()} {template}: {errors[0].message} at {'/'.join(map(str, errors[0].absolute_path))}"
        )
        return payload["data"]


def seed_calls(org: Any) -> Call:
    """A completed call with a transcript, a recording and an appointment (calls have no create route)."""
    phone.business_number_add(organization=org, number=NUMBER)
    started = timezone.now() - datetime.timedelta(hours=1)
    call = phone.call_start(
        organization=org,
        direction="inbound",
        from_number="+14155550123",
        to_number=NUMBER,
        started_at=started,
        contact_name="Jordan",
        agent_name="Receptionist",
        mode="test",  # the wire test reads with a test key
    )
    phone.call_transcript_save(call=call, turns=[Turn("caller", "Hello?", 100), Turn("agent", "Hi!", 900)])
    phone.call_recording_attach(call=call, audio=b"RIFF\x24\x00\x00\x00WAVEfmt synthetic", duration_seconds=3)
    assert call.contact is not None  # call_start made the caller a contact
    phone.appointment_book(
        organization=org,
        contact=call.contact,
        call=call,
        service="Cleaning",
        starts_at=started + datetime.timedelta(days=3),
    )
    phone.call_complete(
        call=call,
        ended_at=started + datetime.timedelta(minutes=2),
        summary="Booked.",
        outcome=Call.Outcome.APPOINTMENT_BOOKED,
    )
    return call


def test_every_operation_answers_exactly_what_its_schema_documents(
    document: dict[str, Any], org: Any, receiver: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    call = seed_calls(org)
    _, secret = api_key_create(organization=org, name="Wire", mode="test", scopes=list(ALL_SCOPES), actor=None)
    wire = Wire(document, secret)

    wire("get", "/calls")
    wire("get", "/calls/{call_id}", f"/calls/{call.public_id}")
    wire("get", "/calls/{call_id}/transcript", f"/calls/{call.public_id}/transcript")
    wire("get", "/calls/{call_id}/recording", f"/calls/{call.public_id}/recording")

    contact = wire(
        "post",
        "/contacts",
        body={"phoneNumber": "+14155550199", "name": "Sam", "company": "Rivera & Co", "email": "sam@example.com"},
    )
    wire("get", "/contacts")
    wire("get", "/contacts/{contact_id}", f"/contacts/{contact['id']}")
    wire("patch", "/contacts/{contact_id}", f"/contacts/{contact['id']}", body={"name": "Sam Rivera"})

    wire("get", "/config")
    wire("patch", "/config", body={"smsQuietHours": {"start": "00:00", "end": "00:00"}})
    sent = wire("post", "/messages", body={"to": "+14155550199", "body": "See you Tuesday!"})
    wire("get", "/messages")
    wire("get", "/messages/{message_id}", f"/messages/{sent['id']}")
    base = KnowledgeBase.objects.create(organization=org, name="Prices", description="What things cost")
    KnowledgeDocument.objects.create(knowledge_base=base, title="Cleaning", content="$95")
    wire("get", "/knowledge-bases")
    wire("get", "/knowledge-bases/{knowledge_base_id}", f"/knowledge-bases/{base.public_id}")
    wire("delete", "/contacts/{contact_id}", f"/contacts/{contact['id']}")

    hook = wire(
        "post", "/webhooks", body={"url": f"{receiver.url}/hooks", "events": ["*"], "description": "Local receiver"}
    )
    wire("get", "/webhooks")
    wire("get", "/webhooks/{webhook_id}", f"/webhooks/{hook['id']}")
    wire("patch", "/webhooks/{webhook_id}", f"/webhooks/{hook['id']}", body={"description": "Renamed"})
    wire("post", "/webhooks/{webhook_id}/test", f"/webhooks/{hook['id']}/test")
    deliveries = wire("get", "/webhooks/{webhook_id}/deliveries", f"/webhooks/{hook['id']}/deliveries")
    delivery = deliveries[0]["id"]
    wire("get", "/webhooks/{webhook_id}/deliveries/{delivery_id}", f"/webhooks/{hook['id']}/deliveries/{delivery}")
    wire(
        "post",
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
        f"/webhooks/{hook['id']}/deliveries/{delivery}/replay",
    )
    wire(
        "post",
        "/webhooks/{webhook_id}/recover",
        f"/webhooks/{hook['id']}/recover",
        body={"since": (timezone.now() - datetime.timedelta(hours=1)).isoformat()},
    )
    wire(
        "post", "/webhooks/{webhook_id}/rotate-secret", f"/webhooks/{hook['id']}/rotate-secret", body={"overlap": "1h"}
    )
    # The event log (issue 18): the newest event, the stream after the oldest, and one event's deliveries.
    logged = wire("get", "/events")
    wire("get", "/events", query={"after": logged[-1]["id"], "limit": "5"})
    wire("get", "/events/{event_id}", f"/events/{logged[0]['id']}")
    wire("delete", "/webhooks/{webhook_id}", f"/webhooks/{hook['id']}")

    key = wire("post", "/keys", body={"name": "CI", "mode": "test", "scopes": ["read:calls"]})
    wire("get", "/keys")
    wire("get", "/keys/{key_id}", f"/keys/{key['id']}")
    wire("post", "/keys/{key_id}/rotate", f"/keys/{key['id']}/rotate", body={"gracePeriod": "1h"})
    wire("post", "/keys/{key_id}/revoke", f"/keys/{key['id']}/revoke")

    tool = wire(
        "post",
        "/tools",
        body={
            "name": "lookup_order",
            "description": "Look up an order.",
            "endpointUrl": f"{receiver.url}/tool",
            "inputSchema": {"type": "object", "properties": {"orderId": {"type": "string"}}},
        },
    )
    wire("get", "/tools")
    wire("get", "/tools/{tool_id}", f"/tools/{tool['id']}")
    wire("patch", "/tools/{tool_id}", f"/tools/{tool['id']}", body={"description": "Look up an order by number."})

    field = wire("post", "/data-fields", body={"key": "invoice_number", "label": "Invoice number"})
    wire("get", "/data-fields")
    wire("get", "/data-fields/{field_id}", f"/data-fields/{field['id']}")
    wire("patch", "/data-fields/{field_id}", f"/data-fields/{field['id']}", body={"label": "Invoice no."})

    agent = wire(
        "post",
        "/agents",
        body={
            "agentKey": "billing",
            "displayName": "Billing",
            "instructions": "You handle billing questions.",
            "matchHints": ["invoice"],
            "tools": {"useCustomToolIds": [tool["id"]], "allowBooking": True},
        },
    )
    wire("get", "/agents")
    wire("get", "/agents/{agent_id}", f"/agents/{agent['id']}")
    wire("patch", "/agents/{agent_id}", f"/agents/{agent['id']}", body={"displayName": "Billing desk"})
    wire("delete", "/agents/{agent_id}", f"/agents/{agent['id']}")
    wire("delete", "/tools/{tool_id}", f"/tools/{tool['id']}")
    wire("delete", "/data-fields/{field_id}", f"/data-fields/{field['id']}")

    wire("get", "/usage")

    documented = {(path, method) for path, method, _ in operations(document) if method in METHODS}
    assert wire.called == documented, sorted(documented ^ wire.called)


def test_an_undocumented_field_on_the_wire_fails_the_check(document: dict[str, Any]) -> None:
    """The check itself: a builder that adds a field the docs do not name is caught."""
    schema = closed(document["components"]["schemas"]["Contact"], document["components"]["schemas"])
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "id": "con_1",
        "phoneNumber": "+14155550199",
        "name": None,
        "email": None,
        "company": None,
        "smsOptedOut": False,
        "createdAt": "2026-12-02T10:00:00Z",
        "updatedAt": "2026-12-02T10:00:00Z",
    }
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "internalId": 7})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "smsOptedOut"})
    assert not validator.is_valid(copy.deepcopy({**good, "smsOptedOut": "no"}))
