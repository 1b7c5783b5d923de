"""The client offline: key modes, snake_case ↔ camelCase, the backoff schedule and the retry loop.

The transport is httpx.MockTransport (the outside world); the real-server tests live in the
platform's tests/sdks/.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from aiphone360 import AiPhone360, AiPhone360Error
from aiphone360._core import parse_retry_after, retry_delay
from aiphone360._objects import camelize, to_camel

Handler = Callable[[httpx.Request], httpx.Response]


def client_with(replies: list[httpx.Response | Exception], **kwargs: object) -> tuple[AiPhone360, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    client = AiPhone360(
        api_key="aip_test_x",
        base_url="http://api.test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **kwargs,
    )  # type: ignore[arg-type]
    client._core._sleep = lambda seconds: None  # no real waiting in unit tests
    return client, seen


def envelope(data: object, status: int = 200, **extra: object) -> httpx.Response:
    return httpx.Response(
        status, json={"success": True, "data": data, "message": "OK", **extra}, headers={"X-Request-Id": "req_header"}
    )


def failure(
    status: int, code: str, *, retry_after: str | None = None, request_id: str | None = "req_body"
) -> httpx.Response:
    headers = {"X-Request-Id": "req_header"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return httpx.Response(
        status,
        headers=headers,
        json={"success": False, "error": {"message": "nope", "code": code, "status": status, "requestId": request_id}},
    )


def test_mode_comes_from_the_key_prefix_and_bad_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AiPhone360(api_key="aip_test_x").mode == "test"
    assert AiPhone360(api_key="aip_live_x").mode == "live"
    monkeypatch.delenv("AIP_KEY", raising=False)
    monkeypatch.delenv("AIP_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="API key is required"):
        AiPhone360()
    with pytest.raises(ValueError, match="aip_live_ or aip_test_"):
        AiPhone360(api_key="sk_live_x")
    assert AiPhone360(api_key="aip_test_x").base_url == "https://api.aiphone360.com/api/public/v1"


def test_names_map_between_snake_case_and_the_wire() -> None:
    assert to_camel("phone_number") == "phoneNumber"
    assert to_camel("from_") == "from"
    assert to_camel("success_rate_24h") == "successRate24h"
    body = camelize(
        {
            "agent_key": "billing",
            "tools": {"allow_payments": True, "use_custom_tool_ids": []},
            "input_schema": {"properties": {"order_number": {"type": "string"}}},
        }
    )
    assert body == {
        "agentKey": "billing",
        "tools": {"allowPayments": True, "useCustomToolIds": []},
        "inputSchema": {"properties": {"order_number": {"type": "string"}}},
    }


def test_objects_read_in_snake_case_and_keep_the_wire_json() -> None:
    client, seen = client_with(
        [
            envelope(
                {
                    "id": "call_1",
                    "from": "+1",
                    "contact": {"phoneNumber": "+2"},
                    "appointments": [{"startsAt": "x"}],
                    "voicemail": None,
                }
            )
        ]
    )
    call = client.calls.get("call_1")
    assert call.from_ == "+1"
    assert call.contact.phone_number == "+2"
    assert call.appointments[0].starts_at == "x"
    assert call.voicemail is None
    assert call["contact"]["phoneNumber"] == "+2"
    assert json.loads(json.dumps(call)) == call.to_dict()
    with pytest.raises(AttributeError):
        _ = call.no_such_field
    assert str(seen[0].url) == "http://api.test/v1/calls/call_1"
    assert seen[0].headers["authorization"] == "Bearer aip_test_x"


def test_keyword_arguments_become_the_camel_case_body() -> None:
    client, seen = client_with([envelope({"id": "con_1"}, 201)])
    client.contacts.create(phone_number="+15555550123", name="Jordan")
    assert json.loads(seen[0].content) == {"phoneNumber": "+15555550123", "name": "Jordan"}


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Sun, 28 Jun 2026 20:00:07 GMT", now=1782676800.0) == 7.0


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after() -> None:
    assert retry_delay(0, None, lambda: 0.0) == 0.25
    assert retry_delay(3, None, lambda: 0.0) == 2.0
    assert retry_delay(10, None, lambda: 0.999999) <= 8.0
    assert retry_delay(0, 2.0, lambda: 0.0) == 2.0
    assert 2.0 <= retry_delay(0, 2.0, lambda: 0.999999) < 2.31


def test_5xx_and_a_dropped_connection_are_retried_with_the_same_idempotency_key() -> None:
    client, seen = client_with(
        [
            failure(503, "INTERNAL_ERROR", retry_after="0"),
            httpx.ConnectError("connection reset"),
            envelope({"id": "msg_1", "test": True}, 201),
        ]
    )
    message = client.sms.send(to="+15555550123", body="Hi")
    assert message.id == "msg_1"
    keys = [r.headers["idempotency-key"] for r in seen]
    assert len(keys) == 3 and len(set(keys)) == 1 and len(keys[0]) == 36


def test_each_send_gets_its_own_key_unless_one_is_given() -> None:
    client, seen = client_with([envelope({"id": "m"}, 201) for _ in range(3)])
    client.sms.send(to="+1", body="a")
    client.sms.send(to="+1", body="a")
    client.sms.send(to="+1", body="a", idempotency_key="order-42")
    keys = [r.headers["idempotency-key"] for r in seen]
    assert keys[0] != keys[1] and keys[2] == "order-42"


def test_after_max_retries_the_last_error_is_raised_with_code_status_and_request_id() -> None:
    client, seen = client_with([failure(500, "INTERNAL_ERROR"), failure(500, "INTERNAL_ERROR")], max_retries=1)
    with pytest.raises(AiPhone360Error) as caught:
        client.calls.list()
    assert (caught.value.code, caught.value.status, caught.value.request_id) == ("INTERNAL_ERROR", 500, "req_body")
    assert len(seen) == 2


def test_a_4xx_is_not_retried_and_the_request_id_falls_back_to_the_header() -> None:
    client, seen = client_with([failure(404, "RESOURCE_NOT_FOUND", request_id=None)])
    with pytest.raises(AiPhone360Error) as caught:
        client.contacts.get("con_x")
    assert (caught.value.code, caught.value.request_id) == ("RESOURCE_NOT_FOUND", "req_header")
    assert len(seen) == 1


def test_a_retry_after_beyond_a_minute_is_not_waited_out() -> None:
    client, seen = client_with([failure(429, "RATE_LIMIT_EXCEEDED", retry_after="3600")])
    with pytest.raises(AiPhone360Error, match="RATE_LIMIT_EXCEEDED"):
        client.usage.get()
    assert len(seen) == 1


def test_a_409_idempotency_key_in_use_is_retried() -> None:
    client, seen = client_with([failure(409, "IDEMPOTENCY_KEY_IN_USE"), envelope({"id": "m"}, 201)])
    assert client.sms.send(to="+1", body="a").id == "m"
    assert len(seen) == 2


def test_a_timeout_is_reported_as_timeout() -> None:
    client, _ = client_with([httpx.ReadTimeout("slow")], max_retries=0)
    with pytest.raises(AiPhone360Error) as caught:
        client.config.get()
    assert (caught.value.code, caught.value.status) == ("TIMEOUT", 0)


def test_a_non_json_gateway_error_keeps_its_status() -> None:
    client, _ = client_with([httpx.Response(502, text="<html>bad gateway</html>")], max_retries=0)
    with pytest.raises(AiPhone360Error) as caught:
        client.config.get()
    assert (caught.value.code, caught.value.status) == ("HTTP_502", 502)


def test_pages_iterate_across_cursors_and_skip_none_filters() -> None:
    client, seen = client_with(
        [
            envelope([{"id": "a"}, {"id": "b"}], pagination={"nextCursor": "c1", "hasMore": True, "limit": 2}),
            envelope([{"id": "c"}], pagination={"nextCursor": None, "hasMore": False, "limit": 2}),
        ]
    )
    page = client.calls.list(limit=2, direction="inbound", search=None)
    assert [c.id for c in page.data] == ["a", "b"]
    assert page.pagination.has_more is True and page.pagination.next_cursor == "c1"
    assert [c.id for c in page] == ["a", "b", "c"]
    assert str(seen[0].url) == "http://api.test/v1/calls?limit=2&direction=inbound"
    assert str(seen[1].url) == "http://api.test/v1/calls?limit=2&direction=inbound&cursor=c1"
