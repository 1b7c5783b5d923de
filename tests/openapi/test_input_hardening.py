"""Input that schemathesis found turning into server errors (mostly on PostgreSQL), now refused or read
sensibly by the API: NUL characters, unknown body fields, JSON objects where a choice is expected,
impossible or out-of-range date-times, UTC offsets PostgreSQL cannot store, and forged cursors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.http import QueryDict

from developer.models import ApiKey, RequestLog
from developer.public_api import request_log
from developer.public_api.input_checks import NUL_MESSAGE, bad_input_paths, bad_query_parameters
from tests.conftest import ApiClient

# --- pure helpers ------------------------------------------------------------------------------------


def test_nul_paths_name_every_string_and_key_holding_a_nul_like_validation_fields() -> None:
    body = {"name": "a\x00b", "tools": {"matchHints": ["ok", "x\x00"]}, "ok": 1, "k\x00": "v", "list": [{"v": "\x00"}]}
    assert list(bad_input_paths(body)) == ["name", "tools.matchHints[1]", "k\x00", "list[0].v"]
    assert list(bad_input_paths({"clean": ["a", {"b": "c"}], "n": None, "t": True})) == []
    assert list(bad_input_paths("\x00")) == ["body"]


def test_nul_query_parameters_checks_names_and_every_value() -> None:
    assert list(bad_query_parameters(QueryDict("a=1&b=2&b=x%00&c%00=1&d=ok"))) == ["b", "c\x00"]
    assert list(bad_query_parameters(QueryDict(""))) == []


# --- through the API ---------------------------------------------------------------------------------


@pytest.fixture
def webhook_id(test_api: ApiClient) -> str:
    created = test_api.post("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    assert created.status_code == 201, created.body
    return created.body["data"]["id"]


def _fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.body
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    return response.body["error"]["fields"]


def test_nul_in_a_body_field_is_a_validation_error_naming_it(test_api: ApiClient, org: Any) -> None:
    response = test_api.post("/contacts", {"phoneNumber": "+14155550111", "name": "Jo\x00rdan"})
    assert _fields(response) == {"name": [NUL_MESSAGE]}
    assert _fields(test_api.post("/keys", {"name": "k\x00", "mode": "test", "scopes": ["read:calls"]})) == {
        "name": [NUL_MESSAGE]
    }
    assert not org.contacts.exists()


def test_nul_in_a_query_parameter_is_a_validation_error_naming_it(test_api: ApiClient) -> None:
    assert _fields(test_api.get("/contacts?search=a%00b")) == {"search": [NUL_MESSAGE]}
    assert _fields(test_api.get("/calls?dateRange=7d%00")) == {"dateRange": [NUL_MESSAGE]}


def test_nul_in_a_path_id_is_not_found(test_api: ApiClient) -> None:
    response = test_api.get("/calls/call_%00x")
    assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_request_log_stores_a_path_with_nul_and_keeps_flushing(test_api: ApiClient) -> None:
    response = test_api.get("/calls/call_%00x")
    request_log.flush()
    entry = RequestLog.objects.get(request_id=response["X-Request-Id"])
    assert entry.path == "/api/public/v1/calls/call_\ufffdx"
    assert len(request_log.buffer()) == 0  # the batch went in; nothing stuck to retry forever


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/keys",
            {"name": "CI", "mode": "test", "scopes": ["read:calls"], "expires_at": "2030-01-01T00:00:00Z"},
            "expires_at",
        ),
        ("/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["*"], "desciption": "typo"}, "desciption"),
    ],
)
def test_a_misspelt_field_is_refused_instead_of_silently_ignored(
    test_api: ApiClient, path: str, body: dict, field: str
) -> None:
    before = ApiKey.objects.count()
    assert _fields(test_api.post(path, body)) == {field: ["Unknown field."]}
    assert ApiKey.objects.count() == before


def test_webhook_actions_refuse_unknown_fields_and_objects_for_choices(test_api: ApiClient, webhook_id: str) -> None:
    assert _fields(test_api.post(f"/webhooks/{webhook_id}/rotate-secret", {"Overlap": "1h"})) == {
        "Overlap": ["Unknown field."]
    }
    assert "overlap" in _fields(test_api.post(f"/webhooks/{webhook_id}/rotate-secret", {"overlap": {}}))
    assert _fields(test_api.post(f"/webhooks/{webhook_id}/recover", {"since": "2026-01-01T00:00:00Z", "x": 1})) == {
        "x": ["Unknown field."]
    }
    assert test_api.post(f"/webhooks/{webhook_id}/rotate-secret", raw="").status_code == 200  # no body: default


def test_key_rotation_refuses_an_object_as_grace_period(test_api: ApiClient, org: Any) -> None:
    key = ApiKey.objects.filter(organization=org).first()
    assert key is not None
    key_id = key.public_id
    assert "gracePeriod" in _fields(test_api.post(f"/keys/{key_id}/rotate", {"gracePeriod": {}}))
    assert _fields(test_api.post(f"/keys/{key_id}/rotate", {"gracePeriod": "1h", "grace": "1h"})) == {
        "grace": ["Unknown field."]
    }


@pytest.mark.parametrize(
    "since",
    [
        "2026-01-01T12:00:00+18:58",  # ISO 8601 allows it; PostgreSQL refuses offsets beyond ±15:59
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
        "2026-01-01T12:00:00",  # no offset: UTC
    ],
)
def test_recovery_reads_any_valid_date_time(test_api: ApiClient, webhook_id: str, since: str) -> None:
    response = test_api.post(f"/webhooks/{webhook_id}/recover", {"since": since})
    assert response.status_code == 202, response.body
    assert response.body["data"] == {"count": 0, "deliveries": []}


def test_an_impossible_date_time_is_a_validation_error(test_api: ApiClient, webhook_id: str) -> None:
    assert _fields(test_api.post(f"/webhooks/{webhook_id}/recover", {"since": "2024-01-01T12:99:00Z"})) == {
        "since": ["Must be an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z."]
    }


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-01-01T00:00:00%2B18:58",
        "to=9999-12-31T23:59:59-05:00",
        "from=0001-01-01T00:00:00%2B05:00",
    ],
)
def test_delivery_filters_read_extreme_offsets(test_api: ApiClient, webhook_id: str, query: str) -> None:
    assert test_api.get(f"/webhooks/{webhook_id}/deliveries?{query}").status_code == 200


@pytest.mark.parametrize(
    "date_range",
    [
        "2026-01-01T00:00%2B18:58,2026-02-01",
        "9999-12-30,9999-12-31",
        "0001-01-01,0001-01-02",
    ],
)
def test_call_date_ranges_at_the_edges_of_the_calendar_are_read(test_api: ApiClient, date_range: str) -> None:
    response = test_api.get(f"/calls?dateRange={date_range}")
    assert response.status_code == 200, response.body
    assert response.body["data"] == []


def _cursor(created: str, public_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created, public_id]).encode()).decode().rstrip("=")


def test_forged_cursors_are_read_in_utc_or_refused(test_api: ApiClient) -> None:
    assert test_api.get(f"/calls?cursor={_cursor('2026-01-01T00:00:00+18:58', 'call_x')}").status_code == 200
    assert "cursor" in _fields(test_api.get(f"/calls?cursor={_cursor('0001-01-01T00:00:00+18:58', 'call_x')}"))
    nul_id = _cursor("2026-01-01T00:00:00Z", "call_\x00")
    assert "cursor" in _fields(test_api.get(f"/calls?cursor={nul_id}"))
