"""Every write of the public API is safe to retry: a lost first answer and a retry with the same
Idempotency-Key make one effect and get the same answer.

Each write operation of the OpenAPI document is called once with a key (its answer "lost": the
client never reads it), the database is counted, then the same request is sent again. The retry
must be the first answer replayed (`Idempotent-Replayed: true`, same status and body) and must
change no row anywhere: no second contact, key, webhook endpoint, delivery, event or audit entry,
and no second rotation (a re-run would answer with a different secret). A test checks that the
table below names every write the document has, so a new write endpoint cannot skip this.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from developer.models import IdempotencyRecord
from developer.public_api import idempotency
from developer.scopes import ALL_SCOPES
from developer.services import api_key_create
from phone import services as phone_services
from phone.models import AiConfig
from tests.conftest import API

from .test_document import operations
from .test_wire_matches_schema import seed_calls

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
# Rows and columns that record the requests themselves, not their effect.
NOT_EFFECTS = {"developer.IdempotencyRecord", "developer.RequestLog"}
BOOKKEEPING_COLUMNS = {"last_used_at"}


@dataclass
class World:
    client: Client
    receiver_url: str

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        response: Any
        if method == "get":
            response = self.client.get(API + path, headers=headers)
        else:
            response = getattr(self.client, method)(
                API + path, json.dumps(body or {}), content_type="application/json", headers=headers
            )
        response.body = json.loads(response.content) if response.content else None
        return response

    def make(self, path: str, body: dict[str, Any]) -> str:
        response = self.call("post", path, body)
        assert response.status_code == 201, response.content
        return str(response.body["data"]["id"])

    def contact(self) -> str:
        return self.make("/contacts", {"phoneNumber": "+14155550177", "name": "Robin"})

    def webhook(self) -> str:
        return self.make("/webhooks", {"url": f"{self.receiver_url}/hooks", "events": ["*"]})

    def key(self) -> str:
        return self.make("/keys", {"name": "Temp", "mode": "test", "scopes": ["read:calls"]})

    def tool(self) -> str:
        return self.make(
            "/tools",
            {
                "name": "lookup_thing",
                "description": "Look up a thing.",
                "endpointUrl": f"{self.receiver_url}/tool",
                "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        )

    def agent(self) -> str:
        return self.make(
            "/agents", {"agentKey": "sales", "displayName": "Sales", "instructions": "You handle sales questions."}
        )

    def data_field(self) -> str:
        return self.make("/data-fields", {"key": "order_number", "label": "Order number"})

    def delivery(self) -> tuple[str, str]:
        hook = self.webhook()
        assert self.call("post", f"/webhooks/{hook}/test").status_code == 200
        deliveries = self.call("get", f"/webhooks/{hook}/deliveries").body["data"]
        return hook, deliveries[0]["id"]


# (path template, method) → how to build the request: (path, body).
Case = Callable[[World], tuple[str, Any]]
CASES: dict[tuple[str, str], Case] = {
    ("/contacts", "post"): lambda w: ("/contacts", {"phoneNumber": "+14155550188", "name": "Sam"}),
    ("/contacts/{contact_id}", "patch"): lambda w: (f"/contacts/{w.contact()}", {"name": "Sam Rivera"}),
    ("/contacts/{contact_id}", "delete"): lambda w: (f"/contacts/{w.contact()}", None),
    ("/config", "patch"): lambda w: ("/config", {"greeting": "Hello, you have reached Acme."}),
    ("/messages", "post"): lambda w: ("/messages", {"to": "+14155550199", "body": "See you Tuesday!"}),
    ("/webhooks", "post"): lambda w: ("/webhooks", {"url": f"{w.receiver_url}/new", "events": ["call.completed"]}),
    ("/webhooks/{webhook_id}", "patch"): lambda w: (f"/webhooks/{w.webhook()}", {"description": "Renamed"}),
    ("/webhooks/{webhook_id}", "delete"): lambda w: (f"/webhooks/{w.webhook()}", None),
    ("/webhooks/{webhook_id}/test", "post"): lambda w: (f"/webhooks/{w.webhook()}/test", None),
    ("/webhooks/{webhook_id}/rotate-secret", "post"): lambda w: (
        f"/webhooks/{w.webhook()}/rotate-secret",
        {"overlap": "1h"},
    ),
    ("/webhooks/{webhook_id}/recover", "post"): lambda w: (
        f"/webhooks/{w.delivery()[0]}/recover",
        {"since": (timezone.now() - datetime.timedelta(hours=1)).isoformat()},
    ),
    ("/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", "post"): lambda w: (
        "/webhooks/{}/deliveries/{}/replay".format(*w.delivery()),
        None,
    ),
    ("/keys", "post"): lambda w: ("/keys", {"name": "CI", "mode": "test", "scopes": ["read:calls"]}),
    ("/keys/{key_id}/rotate", "post"): lambda w: (f"/keys/{w.key()}/rotate", {"gracePeriod": "1h"}),
    ("/keys/{key_id}/revoke", "post"): lambda w: (f"/keys/{w.key()}/revoke", None),
    ("/tools", "post"): lambda w: (
        "/tools",
        {
            "name": "lookup_order",
            "description": "Look up an order.",
            "endpointUrl": f"{w.receiver_url}/tool",
            "inputSchema": {"type": "object", "properties": {"orderId": {"type": "string"}}},
        },
    ),
    ("/tools/{tool_id}", "patch"): lambda w: (f"/tools/{w.tool()}", {"description": "Look up an order by number."}),
    ("/tools/{tool_id}", "delete"): lambda w: (f"/tools/{w.tool()}", None),
    ("/agents", "post"): lambda w: (
        "/agents",
        {"agentKey": "billing", "displayName": "Billing", "instructions": "You handle billing questions."},
    ),
    ("/agents/{agent_id}", "patch"): lambda w: (f"/agents/{w.agent()}", {"displayName": "Sales desk"}),
    ("/agents/{agent_id}", "delete"): lambda w: (f"/agents/{w.agent()}", None),
    ("/data-fields", "post"): lambda w: ("/data-fields", {"key": "invoice_number", "label": "Invoice number"}),
    ("/data-fields/{field_id}", "patch"): lambda w: (f"/data-fields/{w.data_field()}", {"label": "Order no."}),
    ("/data-fields/{field_id}", "delete"): lambda w: (f"/data-fields/{w.data_field()}", None),
}


def effects() -> dict[str, Any]:
    """Every row of every table but the request bookkeeping: a second effect of any kind shows here."""
    snapshot: dict[str, Any] = {}
    for model in apps.get_models():
        label = model._meta.label
        if label in NOT_EFFECTS or not model._meta.managed:
            continue
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in BOOKKEEPING_COLUMNS]
        snapshot[label] = sorted(map(repr, model._default_manager.values_list(*columns)))
    return snapshot


@pytest.fixture
def world(org: Any, receiver: Any, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = str(tmp_path)
    seed_calls(org)  # a business number, so texts can be sent
    phone_services.ai_config_for(organization=org)
    AiConfig.objects.filter(organization=org).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )
    _, secret = api_key_create(organization=org, name="Retries", mode="test", scopes=list(ALL_SCOPES), actor=None)
    return World(client=Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), receiver_url=receiver.url)


def test_every_write_of_the_document_is_covered(document: dict[str, Any]) -> None:
    writes = {(path, method) for path, method, _ in operations(document) if method in WRITES}
    assert writes == set(CASES), f"write operations without a retry test: {sorted(writes - set(CASES))}"


@pytest.mark.parametrize(("template", "method"), sorted(CASES), ids=[f"{m.upper()} {p}" for p, m in sorted(CASES)])
def test_a_retry_after_a_lost_answer_has_one_effect_and_the_same_answer(
    world: World, template: str, method: str
) -> None:
    path, body = CASES[(template, method)](world)
    key = f"retry-{method}-{template}"

    lost = world.call(method, path, body, key=key)  # the answer the network lost
    assert 200 <= lost.status_code < 300, lost.content
    assert "Idempotent-Replayed" not in lost
    after_first = effects()

    retry = world.call(method, path, body, key=key)

    assert retry.status_code == lost.status_code
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.body == lost.body
    assert retry["X-Request-Id"] != lost["X-Request-Id"]
    assert effects() == after_first
    record = IdempotencyRecord.objects.get(key=key)
    assert record.state == IdempotencyRecord.State.COMPLETED and record.mode == "test"


def test_a_different_request_with_the_same_key_is_422_and_does_nothing(world: World) -> None:
    contact = world.contact()
    assert world.call("patch", f"/contacts/{contact}", {"name": "A"}, key="k").status_code == 200
    before = effects()

    reused = world.call("patch", f"/contacts/{contact}", {"name": "B"}, key="k")
    elsewhere = world.call("post", "/contacts", {"phoneNumber": "+14155550166"}, key="k")

    assert reused.status_code == elsewhere.status_code == 422
    assert reused.body["error"]["code"] == elsewhere.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert effects() == before


def test_a_write_still_in_flight_answers_409(world: World, org: Any) -> None:
    body = {"phoneNumber": "+14155550155"}
    fingerprint = idempotency.request_fingerprint("POST", f"{API}/contacts", body)
    IdempotencyRecord.objects.create(
        organization=org, mode="test", key="busy", fingerprint=fingerprint, locked_at=timezone.now()
    )
    before = effects()

    response = world.call("post", "/contacts", body, key="busy")

    assert response.status_code == 409 and response.body["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert effects() == before


def test_a_replayed_key_secret_is_stored_encrypted(world: World) -> None:
    created = world.call("post", "/keys", {"name": "CI", "mode": "test", "scopes": ["read:calls"]}, key="new-key")
    secret = created.body["data"]["secret"]
    stored = IdempotencyRecord.objects.get(key="new-key").response_data

    assert isinstance(stored, str) and secret not in stored and "aip_test_" not in stored
    assert (
        world.call("post", "/keys", {"name": "CI", "mode": "test", "scopes": ["read:calls"]}, key="new-key").body[
            "data"
        ]["secret"]
        == secret
    )


def test_without_a_key_a_repeated_create_acts_twice(world: World) -> None:
    """The header is what makes a retry safe: without it a repeated POST is a new request."""
    first = world.call("post", "/data-fields", {"key": "a_field", "label": "A"})
    second = world.call("post", "/data-fields", {"key": "b_field", "label": "B"})
    assert first.status_code == second.status_code == 201
    assert not IdempotencyRecord.objects.exists()


def test_every_write_documents_the_key_the_replay_header_and_both_conflicts(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        if method not in WRITES:
            continue
        header = next(p for p in op["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and header.get("required", False) is False, (path, method)
        assert "IDEMPOTENCY_KEY_IN_USE" in op["responses"]["409"]["description"], (path, method)
        assert "IDEMPOTENCY_KEY_REUSED" in op["responses"]["422"]["description"], (path, method)
        successes = [status for status in op["responses"] if status.startswith("2")]
        assert successes and all("Idempotent-Replayed" in op["responses"][s]["headers"] for s in successes)
    for path, method, op in operations(document):
        if method == "get":
            assert all(p["name"] != "Idempotency-Key" for p in op.get("parameters", [])), (path, method)


def test_stored_answers_move_to_a_new_encryption_key_with_reencrypt_secrets(world: World) -> None:
    """A rotation of FIELD_ENCRYPTION_KEY inside the 24 hours still replays: reencrypt_secrets moves
    stored answers like every other secret, and a row stored before encryption (plain JSON) is left be."""
    old_key, new_key = "last year's passphrase", "Cz1fLdyCpMyF0c0wqJZ3v8Qm7kR2sYtU4hN6jB9eXaI="
    body = {"name": "CI", "mode": "test", "scopes": ["read:calls"]}
    with override_settings(FIELD_ENCRYPTION_KEY=old_key):
        first = world.call("post", "/keys", body, key="rotating")
    IdempotencyRecord.objects.create(
        organization_id=IdempotencyRecord.objects.get(key="rotating").organization_id,
        mode="test",
        key="legacy",
        fingerprint="x",
        state=IdempotencyRecord.State.COMPLETED,
        response_status=200,
        response_data={"id": "con_legacy"},
    )
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[old_key]):
        out = StringIO()
        call_command("reencrypt_secrets", stdout=out, stderr=StringIO())
        assert "developer.IdempotencyRecord: 2 row(s), 1 secret(s) re-encrypted" in out.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        again = world.call("post", "/keys", body, key="rotating")
    assert again["Idempotent-Replayed"] == "true" and again.body == first.body
    assert IdempotencyRecord.objects.get(key="legacy").response_data == {"id": "con_legacy"}
