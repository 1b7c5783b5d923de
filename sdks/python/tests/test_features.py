"""Offline: error classes, the HTTP answer on results, logging, with_options, telemetry, timeouts,
the async client, typing (mypy --strict on snippets) and the generated async resources."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from aiphone360 import (
    AiPhone360,
    AiPhone360Error,
    APIConnectionError,
    APITimeoutError,
    AsyncAiPhone360,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
    __version__,
)
from aiphone360._generate_async import SOURCE, TARGET, generate
from test_client import client_with, envelope, failure

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "VALIDATION_ERROR", ValidationError),
        (401, "INVALID_API_KEY", AuthenticationError),
        (402, "INSUFFICIENT_CREDITS", PaymentRequiredError),
        (403, "INSUFFICIENT_SCOPE", PermissionDeniedError),
        (404, "RESOURCE_NOT_FOUND", NotFoundError),
        (409, "IDEMPOTENCY_KEY_IN_USE", ConflictError),
        (422, "IDEMPOTENCY_KEY_REUSED", ConflictError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
        (500, "INTERNAL_ERROR", InternalServerError),
        (503, "INTERNAL_ERROR", InternalServerError),
    ],
)
def test_each_kind_of_failure_has_its_subclass_under_the_base(status: int, code: str, cls: type) -> None:
    client, _ = client_with([failure(status, code, retry_after="7")], max_retries=0)
    with pytest.raises(cls) as caught:
        client.contacts.get("con_1")
    assert isinstance(caught.value, AiPhone360Error)
    assert (caught.value.code, caught.value.status, caught.value.request_id) == (code, status, "req_body")
    if cls is RateLimitError:
        assert caught.value.retry_after == 7.0  # type: ignore[attr-defined]


def test_validation_errors_name_their_fields() -> None:
    reply = httpx.Response(
        400,
        json={
            "success": False,
            "error": {
                "message": "bad",
                "code": "VALIDATION_ERROR",
                "status": 400,
                "requestId": "r",
                "fields": {"to": ["x"]},
            },
        },
    )
    client, _ = client_with([reply])
    with pytest.raises(ValidationError) as caught:
        client.sms.send(to="nope", body="hi")
    assert caught.value.fields == {"to": ["x"]}


def test_transport_failures_are_connection_and_timeout_errors() -> None:
    client, _ = client_with([httpx.ConnectError("refused")], max_retries=0)
    with pytest.raises(APIConnectionError) as connection:
        client.config.get()
    assert not isinstance(connection.value, APITimeoutError) and connection.value.code == "CONNECTION_ERROR"
    client, _ = client_with([httpx.ReadTimeout("slow")], max_retries=0)
    with pytest.raises(APITimeoutError) as timeout:
        client.config.get()
    assert isinstance(timeout.value, APIConnectionError) and timeout.value.code == "TIMEOUT"


def test_results_and_pages_carry_their_http_answer() -> None:
    headers = {
        "X-Request-Id": "req_42",
        "Idempotent-Replayed": "true",
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "59",
        "X-RateLimit-Reset": "1800000000",
    }
    ok = httpx.Response(201, json={"success": True, "data": {"id": "con_1"}, "message": "OK"}, headers=headers)
    page = httpx.Response(
        200,
        json={
            "success": True,
            "data": [],
            "message": "OK",
            "pagination": {"nextCursor": None, "hasMore": False, "limit": 25},
        },
        headers={"X-Request-Id": "req_page"},
    )
    client, _ = client_with([failure(503, "INTERNAL_ERROR"), ok, page])
    contact = client.contacts.create(phone_number="+15555550123", options={"idempotency_key": "mine"})
    assert contact.request_id == "req_42"
    info = contact.last_response
    assert info is not None
    assert info.status_code == 201 and info.retries == 1 and info.idempotent_replayed
    assert info.idempotency_key == "mine"
    assert (info.rate_limit.limit, info.rate_limit.remaining, info.rate_limit.reset) == (60, 59, 1800000000)
    assert info.headers["x-request-id"] == "req_42"
    listed = client.contacts.list()
    assert listed.request_id == "req_page" and listed.last_response.status_code == 200


def test_every_request_is_logged_with_its_outcome_and_never_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiphone360")
    client, _ = client_with([failure(500, "INTERNAL_ERROR"), envelope({"id": "con_1"})])
    client.contacts.get("con_1")
    lines = [record.getMessage() for record in caplog.records if record.name == "aiphone360"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /v1/contacts/con_1 -> 500 retrying (request req_body, retry 0, ")
    assert lines[1].startswith("GET /v1/contacts/con_1 -> 200 ok (request req_header, retry 1, ")
    assert lines[1].endswith(" ms)")
    details = caplog.records[-1].aiphone360  # type: ignore[attr-defined]
    assert details["status"] == 200 and details["retry"] == 1 and details["latency_ms"] >= 0
    assert all("aip_test_x" not in record.getMessage() for record in caplog.records)


def test_debug_prints_request_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("aiphone360.test-debug")
    client, _ = client_with([envelope({"id": "con_1"})], logger=logger, debug=True)
    client.contacts.get("con_1")
    assert "GET /v1/contacts/con_1 -> 200 ok (request req_header, retry 0," in capsys.readouterr().err


def test_with_options_changes_a_copy_that_shares_the_connection_pool() -> None:
    client, seen = client_with([failure(500, "INTERNAL_ERROR"), failure(500, "INTERNAL_ERROR")], max_retries=5)
    strict = client.with_options(max_retries=0, timeout=2.5, default_headers={"X-Trace": "t1"})
    with pytest.raises(InternalServerError):
        strict.calls.list()
    assert len(seen) == 1  # no retry on the copy
    assert seen[0].headers["x-trace"] == "t1" and seen[0].extensions["timeout"]["read"] == 2.5
    assert strict._core._http is client._core._http and strict.mode == client.mode
    assert client._core.settings.max_retries == 5 and "X-Trace" not in client._core.settings.default_headers


def test_the_telemetry_headers_name_the_sdk_language_and_version() -> None:
    client, seen = client_with([envelope({})])
    client.config.get()
    assert seen[0].headers["user-agent"].startswith(f"aiphone360-python/{__version__} (python ")
    details = json.loads(seen[0].headers["x-aiphone360-client-user-agent"])
    assert details["bindings_version"] == __version__ and details["lang"] == "python"
    assert details["httplib"] == "httpx" and details["lang_version"] == ".".join(map(str, sys.version_info[:3]))


def test_timeout_takes_seconds_or_an_httpx_timeout() -> None:
    client, seen = client_with([envelope({}), envelope({})], timeout=httpx.Timeout(3.0, connect=1.0))
    client.config.get()
    client.config.get(options={"timeout": 9})
    assert seen[0].extensions["timeout"] == {"connect": 1.0, "read": 3.0, "write": 3.0, "pool": 3.0}
    assert seen[1].extensions["timeout"]["read"] == 9.0
    with pytest.raises(TypeError):
        AiPhone360(api_key="aip_test_x", timeout="10")  # type: ignore[arg-type]


def test_a_lowercase_idempotency_key_header_replaces_the_generated_one() -> None:
    client, seen = client_with([envelope({"id": "m"}, 201)])
    client.sms.send(to="+1", body="a", options={"headers": {"idempotency-key": "order-7"}})
    assert seen[0].headers.get_list("idempotency-key") == ["order-7"]


def test_every_write_carries_an_idempotency_key_and_reads_do_not() -> None:
    client, seen = client_with([envelope({"id": "c"}), envelope({"id": "c", "deleted": True}), envelope({})])
    client.contacts.update("con_1", name="A")
    client.tools.delete("tool_1")
    client.config.get()
    assert [("idempotency-key" in r.headers) for r in seen] == [True, True, False]


def test_a_declared_field_missing_from_an_answer_reads_as_none_and_an_unknown_one_fails() -> None:
    client, _ = client_with([envelope({"id": "key_1", "name": "CI"})])
    key = client.keys.revoke("key_1")
    assert key.expires_at is None
    with pytest.raises(AttributeError):
        key.secrett  # type: ignore[attr-defined]  # noqa: B018


def test_the_async_client_retries_and_paginates_with_async_for() -> None:
    replies = [
        failure(503, "INTERNAL_ERROR"),
        envelope([{"id": "a"}, {"id": "b"}], pagination={"nextCursor": "c1", "hasMore": True, "limit": 2}),
        envelope([{"id": "c"}], pagination={"nextCursor": None, "hasMore": False, "limit": 2}),
        envelope({"id": "con_9", "phoneNumber": "+15555550123"}, 201),
    ]
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return replies.pop(0)

    async def sleep(seconds: float) -> None:
        pass

    async def run() -> tuple[list[str], str, str | None]:
        async with AsyncAiPhone360(
            api_key="aip_test_x",
            base_url="http://api.test/v1",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            timeout=httpx.Timeout(5.0),
        ) as client:
            client._core._sleep = sleep
            ids = [call.id async for call in client.calls.list(limit=2)]
            contact = await client.contacts.create(phone_number="+15555550123")
            return ids, contact.phone_number, contact.request_id

    ids, phone, request_id = asyncio.run(run())
    assert ids == ["a", "b", "c"] and phone == "+15555550123" and request_id == "req_header"
    assert [r.url.params.get("cursor") for r in seen[:3]] == [None, None, "c1"]
    assert "idempotency-key" in seen[3].headers


def test_awaiting_an_async_list_gives_the_first_page() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return envelope([{"id": "a"}], pagination={"nextCursor": None, "hasMore": False, "limit": 1})

    async def run() -> list[str]:
        client = AsyncAiPhone360(
            api_key="aip_test_x",
            base_url="http://api.test/v1",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        )
        page = await client.keys.list(limit=1)
        return [key.id for key in page.data]

    assert asyncio.run(run()) == ["a"]


def test_the_async_resources_are_generated_from_the_sync_ones() -> None:
    assert TARGET.read_text() == generate(SOURCE.read_text()), "run: python src/aiphone360/_generate_async.py"


def _mypy(snippet: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("mypy") is None and not Path(sys.executable).with_name("mypy").exists():
        pytest.skip("mypy is not installed")
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(snippet))
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_mypy_strict_accepts_correct_code_and_refuses_typos_and_bad_enums(tmp_path: Path) -> None:
    good = _mypy(
        """
        from aiphone360 import AiPhone360, AsyncAiPhone360
        from aiphone360.types import ApiKeyWithSecret, Contact

        def use(client: AiPhone360) -> str:
            contact: Contact = client.contacts.create(phone_number="+15555550123")
            key: ApiKeyWithSecret = client.keys.create(name="CI", mode="test", scopes=["read:calls"])
            listed = client.keys.list().data[0]
            secret: str = key.secret
            maybe: str | None = listed.last_used_at
            return contact.phone_number + secret + (maybe or "") + (contact.request_id or "")

        async def use_async(client: AsyncAiPhone360) -> list[str]:
            return [call.id async for call in client.calls.list(limit=10)]

        def on_event(body: bytes, header: str) -> str | None:
            event = AiPhone360.verify_webhook(body, header, "whsec_x")
            if event.type == "call.completed":
                return event.data.summary
            if event.type == "sms.received":
                return event.data.keyword
            return None
        """,
        tmp_path,
    )
    assert good.returncode == 0, good.stdout + good.stderr

    bad = _mypy(
        """
        from aiphone360 import AiPhone360

        def use(client: AiPhone360) -> None:
            contact = client.contacts.create(phone_number="+15555550123")
            print(contact.phone_numbr)
            client.keys.create(name="CI", mode="test", scopes=["read:call"])
            client.webhooks.create(url="https://example.com", events=["call.complete"])
            secret: str = client.keys.list().data[0].secret
            client.agents.create(agent_key="sales", display_name="Sales")
            event = AiPhone360.verify_webhook(b"", "", "whsec_x")
            print(event.data.summary)
        """,
        tmp_path,
    )
    output = bad.stdout
    assert bad.returncode == 1, output
    assert '"Contact" has no attribute "phone_numbr"' in output
    assert "Literal['read:call']" in output and "Literal['call.complete']" in output
    assert '"ApiKey" has no attribute "secret"' in output
    assert 'Missing named argument "instructions"' in output
    assert 'Item "Contact" of "Call | Transcript' in output and 'has no attribute "summary"' in output


def test_keys_get_reads_one_masked_key() -> None:
    client, seen = client_with([envelope({"id": "key_1", "maskedKey": "aip_test_…abcd"})])
    key = client.keys.get("key_1")
    assert key.masked_key == "aip_test_…abcd" and key.request_id == "req_header"
    assert (seen[0].method, seen[0].url.path) == ("GET", "/v1/keys/key_1")


def test_verified_events_come_as_the_class_of_their_type() -> None:
    from aiphone360 import sign_webhook, verify_webhook
    from aiphone360.types import CallCompletedEvent, ContactUpdatedEvent, WebhookEvent

    def verified(payload: dict[str, object]) -> WebhookEvent:
        body = json.dumps(payload)
        return verify_webhook(body, sign_webhook(body, "whsec_x", 1_800_000_000), "whsec_x", now=1_800_000_000)

    base = {"id": "evt_1", "createdAt": "2026-06-28T20:00:00Z", "businessId": "biz_1", "livemode": False}
    completed = verified({**base, "type": "call.completed", "data": {"id": "call_1", "summary": "Booked."}})
    assert isinstance(completed, CallCompletedEvent) and completed.data.summary == "Booked."
    updated = verified({**base, "type": "contact.updated", "data": {"id": "con_1", "changedFields": ["name"]}})
    assert isinstance(updated, ContactUpdatedEvent) and updated.data.changed_fields == ["name"]
    future = verified({**base, "type": "call.transferred", "data": {"id": "call_2"}})
    assert type(future) is WebhookEvent and future.data.id == "call_2"  # type: ignore[attr-defined]


def test_the_async_with_options_copy_shares_the_pool_and_changes_retries() -> None:
    calls: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return failure(500, "INTERNAL_ERROR")

    async def run() -> None:
        client = AsyncAiPhone360(
            api_key="aip_test_x",
            base_url="http://api.test/v1",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            max_retries=4,
        )
        strict = client.with_options(max_retries=0, default_headers={"X-Trace": "t2"})
        assert strict._core._http is client._core._http and strict.mode == "test"
        with pytest.raises(InternalServerError):
            await strict.config.get()

    asyncio.run(run())
    assert len(calls) == 1 and calls[0].headers["x-trace"] == "t2"
