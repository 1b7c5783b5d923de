"""Hostile input answers 4xx in the envelope, never 500: bodies over API_MAX_BODY_BYTES are 413
PAYLOAD_TOO_LARGE before parsing, nesting over API_MAX_JSON_DEPTH is 400, lone UTF-16 surrogates are
400 naming the field, and dashboard forms get the same rules."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Model
from django.http import QueryDict
from django.test import Client
from django.test.client import RequestFactory

from accounts.models import AuditEntry
from agents.models import Agent, CustomTool
from developer.dashboard import FormInputMiddleware
from developer.models import ApiKey
from developer.public_api.exceptions import PayloadTooLarge, ValidationFailed
from developer.public_api.input_checks import (
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    bad_input_paths,
    bad_query_parameters,
    depth_message,
    json_depth_exceeds,
)
from developer.public_api.parsers import LimitedJSONParser
from phone.models import AiConfig, Contact, Message
from tests.conftest import ApiClient
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db
WRITTEN: tuple[type[Model], ...] = (Contact, Message, AiConfig, CustomTool, Agent, Endpoint, ApiKey, AuditEntry)


def _rows() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in WRITTEN}


def _config_snapshot() -> list[Any]:
    return list(AiConfig.objects.values())


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["X-Request-Id"].startswith("req_")
    error = response.body["error"]
    assert response.body["success"] is False
    assert error["code"] == code and error["status"] == status and error["requestId"] == response["X-Request-Id"]
    return error


# --- pure helpers ------------------------------------------------------------------------------------


def test_one_walk_names_nuls_and_lone_surrogates_in_values_and_keys() -> None:
    body = {"name": "a\udc00", "auth": {"token": "t\x00"}, "matchHints": ["x", "y", "\ud800z"], "k\udfff": 1}
    assert bad_input_paths(body) == {
        "name": SURROGATE_MESSAGE,
        "auth.token": NUL_MESSAGE,
        "matchHints[2]": SURROGATE_MESSAGE,
        "k\\udfff": SURROGATE_MESSAGE,
    }
    assert bad_input_paths({"ok": ["é", "😀", {"n": None}]}) == {}  # valid astral text is fine


def test_the_walk_does_not_recurse_so_no_nesting_overflows_it() -> None:
    deep: Any = "\udc00"
    for _ in range(5000):
        deep = [deep]
    assert bad_input_paths(deep) == {"[0]" * 5000: SURROGATE_MESSAGE}


def test_query_parameters_with_surrogates_are_named() -> None:
    class Params:
        def lists(self) -> list[tuple[str, list[str]]]:
            return [("ok", ["1"]), ("search", ["a", "b\udc00"])]

    assert bad_query_parameters(Params()) == {"search": SURROGATE_MESSAGE}


def test_depth_scan_counts_brackets_outside_strings_only() -> None:
    assert not json_depth_exceeds(b'[["[[[[\\"[[", "\\\\"]]', 2)
    assert json_depth_exceeds(b'{"a": [{"b": []}]}', 3)
    assert not json_depth_exceeds(b'{"a": [{"b": []}]}', 4)


def test_the_parser_reads_at_most_the_limit_from_a_body_without_a_length(settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 100

    class Endless(io.RawIOBase):
        read_sizes: list[int] = []

        def read(self, size: int = -1) -> bytes:
            self.read_sizes.append(size)
            return b" " * size

    stream = Endless()
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(stream, "application/json", {})  # type: ignore[arg-type]
    assert stream.read_sizes == [101]
    assert LimitedJSONParser().parse(io.BytesIO(b'{"a": 1}'), "application/json", {}) == {"a": 1}
    with pytest.raises(ValidationFailed):
        LimitedJSONParser().parse(io.BytesIO(b'{"a": "\\udc00"}'), "application/json", {})


# --- body size ---------------------------------------------------------------------------------------


def test_a_body_one_byte_over_the_limit_is_413_in_the_envelope_and_writes_nothing(test_api: ApiClient) -> None:
    assert settings.API_MAX_BODY_BYTES == 1024 * 1024
    before = _rows()
    padding = "x" * (settings.API_MAX_BODY_BYTES - len(json.dumps({"phoneNumber": "+14155550111", "name": ""})) + 1)
    raw = json.dumps({"phoneNumber": "+14155550111", "name": padding})
    assert len(raw.encode()) == settings.API_MAX_BODY_BYTES + 1

    error = _error(test_api.post("/contacts", raw=raw), 413, "PAYLOAD_TOO_LARGE")

    assert str(settings.API_MAX_BODY_BYTES) in error["message"]
    assert _rows() == before


def test_a_body_of_exactly_the_limit_is_parsed(test_api: ApiClient) -> None:
    raw = json.dumps({"phoneNumber": "+14155550111", "name": "Jo"})
    raw = raw[:-1] + " " * (settings.API_MAX_BODY_BYTES - len(raw)) + "}"
    response = test_api.post("/contacts", raw=raw)
    assert response.status_code == 201, response.body


@pytest.mark.parametrize("size", [3 * 1024 * 1024, 10 * 1024 * 1024])
def test_bodies_over_djangos_own_upload_limit_are_413_too(test_api: ApiClient, size: int) -> None:
    before = _rows()
    raw = json.dumps({"phoneNumber": "+14155550111", "name": "x" * size})
    _error(test_api.post("/contacts", raw=raw), 413, "PAYLOAD_TOO_LARGE")
    wid = test_api.post("/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["*"]}).body["data"]["id"]
    _error(test_api.post(f"/webhooks/{wid}/rotate-secret", raw=raw), 413, "PAYLOAD_TOO_LARGE")  # reads .body
    assert _rows()["Contact"] == before["Contact"]


def test_the_limit_is_configurable(test_api: ApiClient, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 64
    _error(test_api.post("/contacts", {"phoneNumber": "+14155550111", "name": "x" * 64}), 413, "PAYLOAD_TOO_LARGE")
    assert test_api.post("/contacts", {"phoneNumber": "+14155550111"}).status_code == 201


def test_an_oversized_body_is_refused_before_authentication_reads_it() -> None:
    response = ApiClient().post("/contacts", raw="x" * (settings.API_MAX_BODY_BYTES + 1))
    _error(response, 413, "PAYLOAD_TOO_LARGE")


# --- nesting -----------------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    """A contact body whose `name` nests to `depth` levels counting the body object itself."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return '{"phoneNumber": "+14155550111", "name": ' + inner + "}"


def test_nesting_at_the_limit_is_parsed_and_one_more_level_is_refused(test_api: ApiClient) -> None:
    limit = settings.API_MAX_JSON_DEPTH
    assert limit == 64
    at_limit = test_api.post("/contacts", raw=_nested(limit))
    assert at_limit.status_code == 400 and "body" not in at_limit.body["error"]["fields"]  # `name` is wrong, not depth
    over = _error(test_api.post("/contacts", raw=_nested(limit + 1)), 400, "VALIDATION_ERROR")
    assert over["fields"] == {"body": [depth_message(limit)]} == {"body": ["Nested deeper than 64 levels."]}


@pytest.mark.parametrize("depth", [990, 5000, 200_000])
def test_very_deep_nesting_is_400_not_a_recursion_error(test_api: ApiClient, depth: int) -> None:
    before = _rows()
    error = _error(test_api.post("/contacts", raw=_nested(depth)), 400, "VALIDATION_ERROR")
    assert error["fields"] == {"body": ["Nested deeper than 64 levels."]}
    error = _error(test_api.post("/contacts", raw="[" * depth), 400, "VALIDATION_ERROR")  # unclosed too
    assert _rows() == before


def test_brackets_inside_strings_do_not_count_as_nesting(test_api: ApiClient) -> None:
    response = test_api.post("/contacts", {"phoneNumber": "+14155550111", "name": "[" * 90 + "{" * 90})
    assert response.status_code == 201, response.body


# --- lone surrogates ---------------------------------------------------------------------------------

SURROGATE = "\udc00"


@pytest.fixture
def ids(test_api: ApiClient) -> dict[str, str]:
    contact = test_api.post("/contacts", {"phoneNumber": "+14155550199", "name": "Existing"})
    webhook = test_api.post("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    assert contact.status_code == 201 and webhook.status_code == 201
    return {"contact": contact.body["data"]["id"], "webhook": webhook.body["data"]["id"]}


CASES = [
    ("POST", "/contacts", {"phoneNumber": "+14155550111", "name": SURROGATE}, "name"),
    ("POST", "/contacts", {"phoneNumber": "+1415555" + SURROGATE}, "phoneNumber"),
    ("POST", "/contacts", {"phoneNumber": "+14155550111", "email": SURROGATE + "@x.test"}, "email"),
    ("POST", "/contacts", {"phoneNumber": "+14155550111", "company": "A" + SURROGATE}, "company"),
    ("PATCH", "/contacts/{contact}", {"name": "\ud83d"}, "name"),
    ("POST", "/messages", {"to": "+14155550111", "body": "hi " + SURROGATE}, "body"),
    ("PATCH", "/config", {"greeting": "Hello" + SURROGATE}, "greeting"),
    ("PATCH", "/config", {"smsHelpReply": SURROGATE}, "smsHelpReply"),
    (
        "PATCH",
        "/config",
        {"businessHours": {"mon": [{"open": SURROGATE, "close": "17:00"}]}},
        "businessHours.mon[0].open",
    ),
    (
        "POST",
        "/tools",
        {"name": "lookup", "description": SURROGATE, "endpointUrl": "https://x.test/t", "inputSchema": {}},
        "description",
    ),
    ("POST", "/tools", {"name": "t", "auth": {"type": "bearer", "token": SURROGATE}}, "auth.token"),
    ("POST", "/agents", {"agentKey": "billing", "displayName": SURROGATE}, "displayName"),
    ("POST", "/agents", {"agentKey": "billing", "matchHints": ["a", "b", SURROGATE]}, "matchHints[2]"),
    ("POST", "/agents", {"agentKey": "billing", "instructions": "x" + SURROGATE}, "instructions"),
    ("POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["*"], "description": SURROGATE}, "description"),
    ("POST", "/webhooks", {"url": "http://127.0.0.1:9/" + SURROGATE, "events": ["*"]}, "url"),
    ("PATCH", "/webhooks/{webhook}", {"description": SURROGATE}, "description"),
    ("POST", "/keys", {"name": SURROGATE, "mode": "test", "scopes": ["read:calls"]}, "name"),
    ("POST", "/contacts", {"phoneNumber": "+14155550111", "a" + SURROGATE: "x"}, "a\\udc00"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES)
def test_a_lone_surrogate_in_a_text_field_is_400_naming_it_and_writes_nothing(
    test_api: ApiClient, ids: dict[str, str], method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before, config = _rows(), _config_snapshot()
    response = test_api.request(method, path.format(**ids), body)
    error = _error(response, 400, "VALIDATION_ERROR")
    assert error["fields"] == {field: [SURROGATE_MESSAGE]}
    assert _rows() == before and _config_snapshot() == config


def test_surrogates_as_escapes_or_as_invalid_utf8_bytes_never_reach_the_database(test_api: ApiClient) -> None:
    escaped = test_api.post("/contacts", raw='{"phoneNumber": "+14155550111", "name": "\\udc00"}')
    assert _error(escaped, 400, "VALIDATION_ERROR")["fields"] == {"name": [SURROGATE_MESSAGE]}
    encoded = test_api.post("/contacts", raw=b'{"phoneNumber": "+14155550111", "name": "\xed\xb0\x80"}')
    _error(encoded, 400, "VALIDATION_ERROR")  # not UTF-8: malformed body
    assert not Contact.objects.exists()


def test_a_surrogate_pair_spelled_as_escapes_is_valid_text(test_api: ApiClient) -> None:
    response = test_api.post("/contacts", raw='{"phoneNumber": "+14155550111", "name": "Jo \\ud83d\\ude00"}')
    assert response.status_code == 201 and response.body["data"]["name"] == "Jo 😀"


# --- dashboard forms ---------------------------------------------------------------------------------

WEBHOOKS_PAGE = "/settings/developer/webhooks/"


def test_a_nul_in_a_dashboard_form_is_400_naming_the_field_and_writes_nothing(owner_client: Client) -> None:
    token = owner_client.get(WEBHOOKS_PAGE + "new/").context["values"]["form_token"]
    before = _rows()
    response = owner_client.post(
        WEBHOOKS_PAGE + "new/",
        {"url": "https://hooks.example.com/in", "events": ["*"], "description": "CRM\x00", "form_token": token},
    )
    assert response.status_code == 400
    assert "description: " + NUL_MESSAGE in response.content.decode()
    assert _rows() == before


def test_surrogates_in_a_dashboard_form_never_reach_a_view() -> None:
    request = RequestFactory().get("/settings/developer/webhooks/")
    query = QueryDict(mutable=True)
    query["search"] = SURROGATE  # URL decoding replaces bad UTF-8, so only code could put one here
    request.GET = query  # type: ignore[assignment]

    response = FormInputMiddleware(lambda r: pytest.fail("the view ran"))(request)
    assert response.status_code == 400 and SURROGATE_MESSAGE in response.content.decode()


def test_bad_utf8_in_a_dashboard_form_is_replaced_not_a_server_error(owner_client: Client) -> None:
    token = owner_client.get(WEBHOOKS_PAGE + "new/").context["values"]["form_token"]
    response = owner_client.post(
        WEBHOOKS_PAGE + "new/",
        f"url=https%3A%2F%2Fhooks.example.com%2Fin&events=*&description=%ED%B0%80&form_token={token}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (201, 400)  # U+FFFD is storable text


def test_a_dashboard_form_over_djangos_upload_limit_is_413_not_500(owner_client: Client) -> None:
    before = _rows()
    response = owner_client.post(
        WEBHOOKS_PAGE + "new/",
        {"url": "https://hooks.example.com/in", "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
    )
    assert response.status_code == 413
    assert _rows() == before


def test_a_nul_in_a_dashboard_query_string_is_400(owner_client: Client) -> None:
    response = owner_client.get("/settings/developer/logs/?search=a%00b")
    assert response.status_code == 400 and "search: " + NUL_MESSAGE in response.content.decode()
