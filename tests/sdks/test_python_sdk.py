"""The Python SDK (sdks/python) against the real server started by the test run — no mocks.

The webhook test also hands the captured delivery to the TypeScript SDK, so one platform delivery is
verified by both official SDKs.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import itertools
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

# aiphone360 is sdks/python/src, put on sys.path by tests/sdks/conftest.py; it is not on mypy's path.
from aiphone360 import (  # type: ignore[import-not-found]
    AiPhone360,
    AiPhone360Error,
    AsyncAiPhone360,
    Page,
    WebhookVerificationError,
    verify_webhook,
)

from agents.models import Agent as AgentModel
from agents.models import CustomTool, DataCollectionField
from billing.models import Plan
from developer.models import ApiKey, RequestLog
from developer.public_api import request_log
from phone.models import Call, Contact, Message
from tests.conftest import make_key
from tests.webhooks.receiver import Receiver
from webhooks.models import Delivery, Endpoint

from .conftest import SEEDED_CALLS, Server, sdk_org


@pytest.fixture
def client(server: Server) -> AiPhone360:
    return AiPhone360(api_key=server.key, base_url=server.url)


@pytest.fixture
def receiver() -> Any:
    local = Receiver()
    yield local
    local.close()


class Recorder:
    """httpx event hooks: every exchange the SDK completed, with when it was sent and answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.exchanges: list[dict[str, Any]] = []

    def on_request(self, request: httpx.Request) -> None:
        request.extensions["sent_at"] = time.monotonic()

    def on_response(self, response: httpx.Response) -> None:
        request = response.request
        with self.lock:
            self.exchanges.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "call": request.headers.get("x-test-call"),
                    "idempotency_key": request.headers.get("idempotency-key"),
                    "status": response.status_code,
                    "retry_after": response.headers.get("retry-after"),
                    "replayed": response.headers.get("idempotent-replayed"),
                    "sent_at": request.extensions["sent_at"],
                    "answered_at": time.monotonic(),
                }
            )

    def client(self, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        return httpx.Client(
            event_hooks={"request": [self.on_request], "response": [self.on_response]}, transport=transport
        )


def test_the_quickstart_in_python(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIP_BASE_URL", server.url)
    monkeypatch.setenv("AIP_KEY", server.key)

    client = AiPhone360(api_key=os.environ["AIP_KEY"])  # the server from AIP_BASE_URL
    page = client.calls.list(limit=25)
    client.sms.send(to="+15555550123", body="Hi from our app")
    contact = client.contacts.create(phone_number="+15555550123", name="Jordan")

    assert client.mode == "test"
    assert isinstance(page, Page)
    assert [c.id for c in page.data] == list(
        Call.objects.filter(organization=server.org)
        .order_by("-started_at", "-public_id")
        .values_list("public_id", flat=True)[:25]
    )
    assert page.pagination.has_more is False and page.pagination.next_cursor is None and page.pagination.limit == 25
    message = Message.objects.get(organization=server.org, to_number="+15555550123")
    assert (message.body, message.mode, message.status) == ("Hi from our app", "test", "sent")
    row = Contact.objects.get(organization=server.org, public_id=contact.id)
    assert (row.phone_number, row.name) == ("+15555550123", "Jordan")
    assert contact.phone_number == "+15555550123" and contact.sms_opted_out is False


def test_pagination_walks_seven_new_keys_in_pages_of_two(server: Server, client: AiPhone360) -> None:
    created = [client.keys.create(name=f"page-{i}", mode="test", scopes=["read:calls"]) for i in range(7)]
    expected = list(
        ApiKey.objects.filter(organization=server.org)
        .order_by("-created_at", "-public_id")
        .values_list("public_id", flat=True)
    )
    assert len(expected) == 8  # the seven and the caller's own

    first = client.keys.list(limit=2)
    assert len(first.data) == 2 and first.pagination.has_more and first.pagination.limit == 2
    pages = list(first.iter_pages())
    assert [len(p.data) for p in pages] == [2, 2, 2, 2]
    assert pages[-1].pagination.next_cursor is None and pages[-1].get_next_page() is None
    assert [k.id for k in client.keys.list(limit=2)] == expected  # iterating a page walks every page
    assert [k.id for k in client.keys.list(limit=2).auto_paging_iter()] == expected
    assert expected[:7] == [k.id for k in reversed(created)]
    assert all(k.masked_key.startswith("aip_test_") and "secret" not in k for k in client.keys.list(limit=100).data)

    calls = [c.id for c in client.calls.list(limit=2)]
    assert len(calls) == SEEDED_CALLS == len(set(calls))


@pytest.mark.slow  # waits out a real Retry-After
def test_a_429_is_retried_after_retry_after_on_a_basic_plan(live_server: Any) -> None:
    org = sdk_org("Basic Plan Dental", plan="BASIC")
    key = make_key(org, mode="test")
    url = f"{live_server.url}/api/public/v1"

    impatient = AiPhone360(api_key=key, base_url=url, max_retries=0)
    limit = Plan.objects.get(code="BASIC").rate_limit_per_minute
    surfaced: AiPhone360Error | None = None
    for _ in range(limit * 2):
        try:
            impatient.calls.list(limit=1)
        except AiPhone360Error as exc:
            surfaced = exc
            break
    assert surfaced is not None, f"{limit * 2} requests never hit the limit"
    assert (surfaced.code, surfaced.status) == ("RATE_LIMIT_EXCEEDED", 429)
    assert surfaced.request_id and surfaced.request_id.startswith("req_")
    assert surfaced.headers is not None and int(surfaced.headers["retry-after"]) >= 1

    recorder = Recorder()
    patient = AiPhone360(api_key=key, base_url=url, max_retries=10, http_client=recorder.client())
    calls = ["0", "1", "2"]
    with ThreadPoolExecutor(len(calls)) as pool:
        pages = list(pool.map(lambda i: patient.calls.list(limit=1, options={"headers": {"X-Test-Call": i}}), calls))
    assert all(len(p.data) == 1 for p in pages)
    retried = 0
    for call in calls:
        tries = [e for e in recorder.exchanges if e["call"] == call]
        assert tries[-1]["status"] == 200
        for earlier, later in itertools.pairwise(tries):
            assert earlier["status"] == 429
            # The retry went out no sooner than Retry-After said.
            assert later["sent_at"] - earlier["answered_at"] >= int(earlier["retry_after"])
            retried += 1
    assert retried >= 1, recorder.exchanges  # the bucket was empty: at most one of the three got through at once


def test_an_errors_code_and_request_id_are_surfaced_and_match_the_servers_log(
    server: Server, client: AiPhone360
) -> None:
    with pytest.raises(AiPhone360Error) as caught:
        client.calls.get("call_doesnotexist")
    error = caught.value
    assert (error.code, error.status) == ("RESOURCE_NOT_FOUND", 404)
    assert error.headers is not None and error.request_id == error.headers["x-request-id"]
    assert error.request_id is not None and "call_doesnotexist" in error.message and error.request_id in str(error)
    request_log.flush()
    logged = RequestLog.objects.get(request_id=error.request_id)
    assert (logged.status_code, logged.error_code, logged.organization_id) == (404, "RESOURCE_NOT_FOUND", server.org.pk)

    with pytest.raises(AiPhone360Error) as caught:
        client.contacts.create(phone_number="not a number")
    assert caught.value.code == "VALIDATION_ERROR" and caught.value.fields and "phoneNumber" in caught.value.fields

    narrow = make_key(server.org, mode="test", scopes=["read:calls"])
    with pytest.raises(AiPhone360Error) as caught:
        AiPhone360(api_key=narrow, base_url=server.url).contacts.list()
    assert (caught.value.code, caught.value.status) == ("INSUFFICIENT_SCOPE", 403)

    with pytest.raises(AiPhone360Error) as caught:
        AiPhone360(api_key="aip_test_notarealkey", base_url=server.url).calls.list()
    assert (caught.value.code, caught.value.status) == ("INVALID_API_KEY", 401)


class DropFirstMessagesResponse(httpx.HTTPTransport):
    """The first POST /messages reaches the server, then its response is lost (a connection reset)."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped: tuple[int, str | None] | None = None  # (status, Idempotency-Key) of the lost response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.dropped is None and request.method == "POST" and request.url.path.endswith("/messages"):
            self.dropped = (response.status_code, request.headers.get("idempotency-key"))
            response.read()
            response.close()
            raise httpx.ReadError("connection reset (simulated)", request=request)
        return response


def test_a_send_whose_response_was_lost_is_retried_with_the_same_key_and_sent_once(server: Server) -> None:
    recorder = Recorder()
    transport = DropFirstMessagesResponse()
    client = AiPhone360(api_key=server.key, base_url=server.url, http_client=recorder.client(transport))
    body = f"Your order {uuid.uuid4().hex[:6]} is ready"

    message = client.sms.send(to="+15555550123", body=body)

    assert transport.dropped is not None
    lost_status, lost_key = transport.dropped
    (retry,) = [e for e in recorder.exchanges if e["path"].endswith("/messages")]
    assert lost_status == 201 and lost_key
    assert retry["idempotency_key"] == lost_key
    assert (retry["status"], retry["replayed"]) == (201, "true")
    assert Message.objects.filter(organization=server.org, body=body).count() == 1
    assert Message.objects.get(organization=server.org, body=body).public_id == message.id


def test_a_webhook_delivered_by_the_platform_verifies_with_both_sdks(
    server: Server, client: AiPhone360, receiver: Receiver, typescript_sdk: Path
) -> None:
    endpoint = client.webhooks.create(url=receiver.url, events=["contact.created"], description="python sdk")
    assert endpoint.secret.startswith("whsec_") and endpoint.id.startswith("whk_")

    contact = client.contacts.create(phone_number="+12025550177", name="Wendy Webhook")

    (delivered,) = receiver.wait_for_requests(1)
    raw, header = delivered.body, delivered.headers["x-aip-signature"]
    event = verify_webhook(raw, header, endpoint.secret)
    assert event.type == "contact.created" and event.data.id == contact.id
    assert event.id.startswith("evt_") and event.livemode is False
    assert Delivery.objects.get(event__public_id=event.id).status == Delivery.Status.SUCCEEDED
    with pytest.raises(WebhookVerificationError):
        verify_webhook(raw.replace(b"Wendy", b"Wanda"), header, endpoint.secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(raw, header, endpoint.secret, now=int(time.time()) + 301)

    # The same bytes and header, verified by the TypeScript SDK.
    script = (
        "const {AiPhone360}=require('./dist/src/index.js');"
        "const e=AiPhone360.verifyWebhook(Buffer.from(process.env.RAW,'base64'),process.env.SIG,process.env.SECRET);"
        "process.stdout.write(JSON.stringify({id:e.id,type:e.type}))"
    )
    env = {**os.environ, "RAW": base64.b64encode(raw).decode(), "SIG": header, "SECRET": endpoint.secret}
    node = subprocess.run(
        ["node", "-e", script], cwd=typescript_sdk, env=env, capture_output=True, text=True, timeout=60
    )
    assert node.returncode == 0, node.stderr
    assert json.loads(node.stdout) == {"id": event.id, "type": "contact.created"}
    env["RAW"] = base64.b64encode(raw.replace(b"Wendy", b"Wanda")).decode()
    tampered = subprocess.run(
        ["node", "-e", script], cwd=typescript_sdk, env=env, capture_output=True, text=True, timeout=60
    )
    assert tampered.returncode != 0 and "No v1 signature matches" in tampered.stderr

    # The rest of the webhooks surface: test send, log, detail, replay, rotate, update, recover, delete.
    result = client.webhooks.test(endpoint.id)
    assert result.succeeded and result.attempt is not None and result.attempt.response.status == 200
    test_event = verify_webhook(
        receiver.wait_for_requests(2)[1].body, receiver.requests[1].headers["x-aip-signature"], endpoint.secret
    )
    assert test_event.type == "webhook.test" and test_event.id == result.delivery.event_id

    log = client.webhooks.deliveries.list(endpoint.id, event_type="contact.created")
    (logged,) = [d for d in log.data if d.event_id == event.id]
    detail = client.webhooks.deliveries.get(endpoint.id, logged.id)
    assert detail.event.id == event.id and detail.attempts[0].succeeded is True
    replay = client.webhooks.deliveries.replay(endpoint.id, logged.id)
    assert replay.event_id == event.id and replay.replay_of == logged.id
    replayed = receiver.wait_for_requests(3)[2]
    assert verify_webhook(replayed.body, replayed.headers["x-aip-signature"], endpoint.secret).id == event.id

    rotated = client.webhooks.rotate_secret(endpoint.id, overlap="1h")
    client.webhooks.test(endpoint.id)
    overlap = receiver.wait_for_requests(4)[3]
    assert overlap.headers["x-aip-signature"].count("v1=") == 2
    for secret in (endpoint.secret, rotated.secret):
        verify_webhook(overlap.body, overlap.headers["x-aip-signature"], secret)

    since = datetime.now(UTC) - timedelta(hours=1)
    assert client.webhooks.recover(endpoint.id, since=since).count == 0
    assert client.webhooks.update(endpoint.id, enabled=False).enabled is False
    assert endpoint.id in [w.id for w in client.webhooks.list(limit=1)]
    assert client.webhooks.delete(endpoint.id).deleted is True
    with pytest.raises(AiPhone360Error) as caught:
        client.webhooks.get(endpoint.id)
    assert caught.value.code == "RESOURCE_NOT_FOUND"


def test_the_rest_of_the_surface(server: Server, client: AiPhone360, receiver: Receiver) -> None:
    # Calls: detail, transcript, recording (bytes served by the app).
    call = next(c for c in client.calls.list(limit=100) if c.has_transcript and c.has_recording)
    assert client.calls.get(call.id).id == call.id
    transcript = client.calls.transcript(call.id)
    assert transcript.call_id == call.id and transcript.turns[0].speaker in ("agent", "caller", "staff")
    recording = client.calls.recording(call.id)
    audio = httpx.get(recording.url)
    assert audio.status_code == 200 and len(audio.content) == recording.size_bytes
    assert all(c.direction == "inbound" for c in client.calls.list(direction="inbound", date_range="90d"))

    # Contacts.
    contact = client.contacts.create(phone_number="(202) 555-0188", name="Sam", company="Acme")
    assert contact.phone_number == "+12025550188"
    updated = client.contacts.update(contact.id, email="sam@example.com", company=None)
    assert (updated.email, updated.company) == ("sam@example.com", None)
    assert client.contacts.get(contact.id).email == "sam@example.com"
    assert [c.id for c in client.contacts.list(search="Sam").data] == [contact.id]

    # Config and usage.
    greeting = client.config.get().greeting
    assert client.config.update(greeting="Hello from Python").greeting == "Hello from Python"
    client.config.update(greeting=greeting)
    with pytest.raises(AiPhone360Error) as caught:
        client.config.update(language="klingon-XX")
    assert caught.value.code == "VALIDATION_ERROR" and caught.value.fields and "language" in caught.value.fields
    usage = client.usage.get(from_=datetime.now(UTC).date().replace(day=1))
    assert usage.currency == "USD" and usage.free_quota.plan == "PRO"
    assert {m.metric for m in usage.free_quota.metrics} >= {"api_requests", "sms_segments"}

    # Keys: create, rotate with a grace period, revoke.
    made = client.keys.create(name="rotate me", mode="test", scopes=["read:calls"])
    rotated = client.keys.rotate(made.id, grace_period="1h")
    assert rotated.rotated_from.id == made.id and rotated.secret.startswith("aip_test_")
    AiPhone360(api_key=made.secret, base_url=server.url).calls.list(limit=1)  # still valid during the grace
    assert client.keys.revoke(made.id).status == "revoked"
    with pytest.raises(AiPhone360Error, match="INVALID_API_KEY"):
        AiPhone360(api_key=made.secret, base_url=server.url).calls.list(limit=1)

    # Tools, agents and data fields.
    tool = client.tools.create(
        name="lookup_order",
        description="Look up an order.",
        endpoint_url=receiver.url,
        input_schema={"type": "object", "properties": {"order_number": {"type": "string"}}},
        auth={"type": "header", "header_name": "X-Api-Key", "value": "py-s3cret"},
        timeout_seconds=5,
    )
    assert tool.auth.type == "header" and tool.auth.header_name == "X-Api-Key"
    assert "py-s3cret" not in json.dumps(tool) and tool.input_schema["properties"]["order_number"]
    assert client.tools.update(tool.id, enabled=False).enabled is False
    agent = client.agents.create(
        agent_key="billing",
        display_name="Billing",
        instructions="You handle billing.",
        match_hints=["bill", "invoice"],
        tools={"allow_payments": True, "use_custom_tool_ids": [tool.id]},
    )
    assert agent.tools.allow_payments is True and agent.tools.use_custom_tool_ids == [tool.id]
    field = client.data_fields.create(
        key="invoice_number", label="Invoice number", type="text", required=True, agent_id=agent.id
    )
    assert [f.id for f in client.data_fields.list(agent_id=agent.id)] == [field.id]
    assert client.data_fields.update(field.id, required=False).required is False
    assert client.agents.get(agent.id).match_hints == ["bill", "invoice"]
    assert client.data_fields.delete(field.id).deleted and client.agents.delete(agent.id).deleted
    assert client.tools.delete(tool.id).deleted
    assert [t.id for t in client.tools.list()] == []


class DropFirstAnswerOfEachWrite(httpx.HTTPTransport):
    """Every write reaches the server, then its first answer is lost (a connection reset): the SDK must
    retry with the same Idempotency-Key and get the first answer replayed, never act twice."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: dict[str, tuple[str, str, int, bytes]] = {}  # key → method, path, status, body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        key = request.headers.get("idempotency-key")
        if request.method in ("POST", "PATCH", "DELETE") and key and key not in self.lost:
            body = response.read()
            response.close()
            self.lost[key] = (request.method, request.url.path, response.status_code, body)
            raise httpx.ReadError("connection reset (simulated)", request=request)
        return response


def test_every_write_survives_a_lost_answer_with_one_effect_and_the_same_answer(
    server: Server, receiver: Receiver
) -> None:
    transport = DropFirstAnswerOfEachWrite()
    client = AiPhone360(api_key=server.key, base_url=server.url, http_client=httpx.Client(transport=transport))
    org = server.org
    results: list[Any] = []

    def write(result: Any) -> Any:
        """The retry's answer is the lost one, replayed."""
        info = result.last_response
        assert info.retries == 1 and info.idempotent_replayed, (info.status_code, info.retries)
        _method, path, status, body = transport.lost[info.idempotency_key]
        assert (status, json.loads(body)["data"]) == (info.status_code, result.to_dict()), path
        results.append(result)
        return result

    keys_before = ApiKey.objects.filter(organization=org).count()
    contact = write(client.contacts.create(phone_number="+12025550142", name="Lost Answer"))
    write(client.contacts.update(contact.id, company="Retry & Co"))
    text = f"Lost answers {uuid.uuid4().hex[:6]}"
    write(client.sms.send(to="+12025550142", body=text))
    write(client.config.update(greeting="Hello, retried once"))
    endpoint = write(client.webhooks.create(url=receiver.url, events=["contact.created"]))
    write(client.webhooks.update(endpoint.id, description="retried"))
    tested = write(client.webhooks.test(endpoint.id))
    replayed = write(client.webhooks.deliveries.replay(endpoint.id, tested.delivery.id))
    write(client.webhooks.recover(endpoint.id, since=datetime.now(UTC) - timedelta(hours=1)))
    rotated = write(client.webhooks.rotate_secret(endpoint.id, overlap="1h"))
    key = write(client.keys.create(name="lost answer", mode="test", scopes=["read:calls"]))
    new_key = write(client.keys.rotate(key.id, grace_period="1h"))
    write(client.keys.revoke(key.id))
    tool = write(
        client.tools.create(
            name="lost_answer",
            description="Retried once.",
            endpoint_url=receiver.url,
            input_schema={"type": "object", "properties": {}},
        )
    )
    write(client.tools.update(tool.id, description="Retried twice."))
    agent = write(client.agents.create(agent_key="retry", display_name="Retry", instructions="You retry."))
    write(client.agents.update(agent.id, display_name="Retry desk"))
    field = write(client.data_fields.create(key="retry_count", label="Retry count"))
    write(client.data_fields.update(field.id, label="Retries"))
    write(client.data_fields.delete(field.id))
    write(client.agents.delete(agent.id))
    write(client.tools.delete(tool.id))

    # One effect each: one contact, one text, one endpoint, one test delivery and one replay, one
    # rotation (the secret the answer showed is the one in force), two new keys (created, rotated).
    assert len(transport.lost) == len(results) == 22
    assert Contact.objects.filter(organization=org, phone_number="+12025550142").count() == 1
    assert Contact.objects.get(public_id=contact.id).company == "Retry & Co"
    assert Message.objects.filter(organization=org, body=text).count() == 1
    hooks = list(Endpoint.objects.filter(organization=org))
    assert [h.public_id for h in hooks] == [endpoint.id]
    assert hooks[0].secret == rotated.secret and hooks[0].description == "retried"
    assert Delivery.objects.filter(endpoint=hooks[0], event__type="webhook.test").count() == 2  # the test, its replay
    assert replayed.replay_of == tested.delivery.id
    assert ApiKey.objects.filter(organization=org).count() == keys_before + 2
    assert ApiKey.objects.get(public_id=key.id).revoked_at is not None
    AiPhone360(api_key=new_key.secret, base_url=server.url).calls.list(limit=1)  # the secret shown works
    assert not CustomTool.objects.filter(organization=org).exists()
    assert not AgentModel.objects.filter(organization=org).exists()
    assert not DataCollectionField.objects.filter(organization=org).exists()


def test_the_async_client_against_the_live_server_retries_a_lost_answer_once(server: Server) -> None:
    class DropFirstAsync(httpx.AsyncHTTPTransport):
        def __init__(self) -> None:
            super().__init__()
            self.dropped = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            if request.method == "POST" and not self.dropped:
                self.dropped += 1
                await response.aread()
                await response.aclose()
                raise httpx.ReadError("connection reset (simulated)", request=request)
            return response

    async def run() -> tuple[Any, list[str]]:
        transport = DropFirstAsync()
        async with AsyncAiPhone360(
            api_key=server.key, base_url=server.url, http_client=httpx.AsyncClient(transport=transport)
        ) as client:
            made = await client.keys.create(name="async", mode="test", scopes=["read:calls"])
            ids = [k.id async for k in client.keys.list(limit=1)]
            return made, ids

    before = ApiKey.objects.filter(organization=server.org).count()
    made, ids = _run_async(run())
    assert made.last_response.idempotent_replayed and made.secret.startswith("aip_test_")
    assert ApiKey.objects.filter(organization=server.org).count() == before + 1
    assert made.id in ids and len(ids) == before + 1  # every key, one page of one at a time


# --- issue 18: message history, erasure, knowledge bases ------------------------------------------


def test_message_history_erasure_and_knowledge_bases(server: Server, client: AiPhone360) -> None:
    from aiphone360 import NotFoundError

    from phone.models import KnowledgeBase, KnowledgeDocument

    # Messages: what was sent is listed with its status, filtered, paged and read one by one.
    sent = [client.sms.send(to="+12025550177", body=f"History {n}") for n in range(3)]
    listed = client.messages.list(phone_number="(202) 555-0177", direction="outbound", limit=2)
    assert [m.id for m in listed.data] == [sent[2].id, sent[1].id] and listed.pagination.has_more
    walked = [m.id for m in client.messages.list(phone_number="+12025550177", limit=2)]
    assert walked == [m.id for m in reversed(sent)]
    one = client.messages.get(sent[0].id)
    assert (one.status, one.body, one.delivered_at, one.error) == ("sent", "History 0", None, None)
    assert one.status_updated_at.endswith("Z")
    assert all(m.status == "sent" for m in client.messages.list(status="sent", date_range="today"))

    # Erasure: the contact goes, its texts stay without the link; a second delete is NotFoundError.
    contact = client.contacts.create(phone_number="+12025550177", name="Erase Me")
    assert client.messages.get(sent[0].id).contact_id is None  # texts sent before it existed were never linked
    deleted = client.contacts.delete(contact.id)
    assert (deleted.id, deleted.deleted) == (contact.id, True)
    with pytest.raises(NotFoundError):
        client.contacts.delete(contact.id)
    assert len(client.messages.list(phone_number="+12025550177").data) == 3

    # Knowledge bases: listed with their document counts, one read by id, paged.
    base = KnowledgeBase.objects.create(organization=server.org, name="SDK prices")
    KnowledgeDocument.objects.create(knowledge_base=base, title="Cleaning", content="$95")
    bases = {kb.id: kb for kb in client.knowledge_bases.list(limit=1)}
    assert bases[base.public_id].document_count == 1 and bases[base.public_id].name == "SDK prices"
    assert client.knowledge_bases.get(base.public_id).updated_at.endswith("Z")

    async def read_async() -> list[str]:
        async with AsyncAiPhone360(api_key=server.key, base_url=server.url) as aclient:
            first = await aclient.messages.get(sent[1].id)
            return [first.id] + [kb.id async for kb in aclient.knowledge_bases.list()]

    assert _run_async(read_async())[:1] == [sent[1].id]


T = TypeVar("T")


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on its own thread: a session's Playwright browser may hold this thread's running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
