"""One rotation concept: the same five windows for API keys (``gracePeriod``), webhook endpoint
secrets and the tool-call signing secret (``overlap``), through the API, the services and the dashboards.

The old credential must work until the window ends and not a microsecond after; "now" retires it at
once; anything else is a 400 VALIDATION_ERROR naming the field. Signatures are checked on the bytes a
real local receiver got, the way a customer following the docs would.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, Organization
from agents.models import CustomTool, ToolSigningSecret
from agents.services import signing_secret_for, signing_secret_rotate, tool_invoke
from core import rotation
from developer.keys import hash_secret
from developer.models import ApiKey
from developer.services import api_key_rotate
from tests.agents.conftest import make_tool
from tests.conftest import ApiClient, make_key
from tests.webhooks.receiver import Receiver, Reply
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create, endpoint_rotate_secret

pytestmark = pytest.mark.django_db

ALL = ["now", "1h", "24h", "3d", "7d"]
WITH_OVERLAP = ["1h", "24h", "3d", "7d"]
BAD_VALUES: list[Any] = ["2w", "24H", "", 3600, None, {"hours": 1}, ["1h"]]
CHOICES_MESSAGE = "Must be one of: now, 1h, 24h, 3d, 7d."
TICK = timedelta(microseconds=1)


def _frozen(at: datetime) -> Any:
    return mock.patch("django.utils.timezone.now", autospec=True, return_value=at)


def _v1_matches(header: str, body: bytes, secret: str) -> list[bool]:
    """For each ``v1=`` of the header, whether it is HMAC-SHA256(secret, "<t>.<raw body>")."""
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return [hmac.compare_digest(expected, v) for k, v in parts if k == "v1"]


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the definition -------------------------------------------------------------------------------


def test_the_five_windows_and_their_labels_are_defined_once_in_order() -> None:
    assert list(rotation.WINDOWS) == ALL
    assert rotation.WINDOWS == {
        "now": timedelta(0),
        "1h": timedelta(hours=1),
        "24h": timedelta(hours=24),
        "3d": timedelta(days=3),
        "7d": timedelta(days=7),
    }
    assert rotation.LABELS == {
        "now": "Immediately",
        "1h": "In 1 hour",
        "24h": "In 24 hours",
        "3d": "In 3 days",
        "7d": "In 7 days",
    }
    assert rotation.DEFAULT == "24h"


@pytest.mark.parametrize("value", ALL)
def test_window_returns_the_timedelta_of_each_wire_value(value: str) -> None:
    assert rotation.window(value, field="overlap") == rotation.WINDOWS[value]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_window_refuses_anything_else_naming_the_field(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        rotation.window(value, field="gracePeriod")
    assert caught.value.message_dict == {"gracePeriod": [CHOICES_MESSAGE]}


def test_the_openapi_enum_is_the_one_definition(settings: Any) -> None:
    from drf_spectacular.generators import SchemaGenerator

    assert settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["GracePeriodEnum"] == "core.rotation.WINDOWS"
    document = SchemaGenerator().get_schema(request=None, public=True)
    assert document["components"]["schemas"]["GracePeriodEnum"]["enum"] == ALL


# --- API keys: gracePeriod --------------------------------------------------------------------------


@pytest.mark.parametrize("grace", ALL)
def test_an_api_key_rotated_through_the_api_works_exactly_until_its_grace_period_ends(
    org: Organization, grace: str
) -> None:
    old_secret = make_key(org)
    old_id = ApiKey.objects.get(key_hash=hash_secret(old_secret)).public_id
    old = ApiClient(old_secret)
    start = timezone.now()
    with _frozen(start):
        response = old.post(f"/keys/{old_id}/rotate", {"gracePeriod": grace})
    assert response.status_code == 201, response.body
    assert response.body["success"] is True and response.body["data"]["rotatedFrom"]["id"] == old_id
    new = ApiClient(response.body["data"]["secret"])
    ends = start + rotation.WINDOWS[grace]
    assert ApiKey.objects.get(public_id=old_id).expires_at == ends
    assert AuditEntry.objects.get(action="api_key.rotated", target_id=old_id).metadata["grace"] == grace

    if grace != "now":
        with _frozen(ends - TICK):
            assert old.get("/keys").status_code == 200
    with _frozen(ends):
        refused = old.get("/keys")
        assert refused.status_code == 401 and refused.body["error"]["code"] == "INVALID_API_KEY"
        assert new.get("/keys").status_code == 200


@pytest.mark.parametrize("grace", ALL)
def test_the_api_key_service_accepts_each_grace_period(org: Organization, grace: str) -> None:
    make_key(org, name="Billing sync")
    key = ApiKey.objects.get(name="Billing sync")
    start = timezone.now()
    with _frozen(start):
        new_key, secret = api_key_rotate(key=key, grace=grace, actor=None)
    key.refresh_from_db()
    assert key.expires_at == start + rotation.WINDOWS[grace]
    assert new_key.rotated_from_id == key.pk and new_key.key_hash == hash_secret(secret)
    assert new_key.expires_at is None


def test_an_api_key_rotated_now_is_refused_on_its_very_next_request(
    org: Organization, api: ApiClient, live_key: str
) -> None:
    key_id = ApiKey.objects.get(key_hash=hash_secret(live_key)).public_id
    response = api.post(f"/keys/{key_id}/rotate", {"gracePeriod": "now"})
    assert response.status_code == 201
    assert api.get("/keys").body["error"]["code"] == "INVALID_API_KEY"
    assert ApiClient(response.body["data"]["secret"]).get("/keys").status_code == 200


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_grace_period_is_a_validation_error_naming_grace_period(
    org: Organization, api: ApiClient, live_key: str, value: Any
) -> None:
    key = ApiKey.objects.get(key_hash=hash_secret(live_key))
    response = api.post(f"/keys/{key.public_id}/rotate", {"gracePeriod": value})
    assert response.status_code == 400
    error = response.body["error"]
    assert response.body["success"] is False and error["code"] == "VALIDATION_ERROR" and error["status"] == 400
    assert error["fields"] == {"gracePeriod": [CHOICES_MESSAGE]}
    key.refresh_from_db()
    assert key.expires_at is None and not ApiKey.objects.filter(rotated_from=key).exists()


# --- webhook endpoints: overlap -------------------------------------------------------------------


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    """A real local webhook receiver (OUTBOUND_ALLOW_LOOPBACK is on under pytest)."""
    server = Receiver()
    yield server
    server.close()


def _delivered_at(org: Organization, at: datetime | None, hooks: Receiver) -> tuple[str, bytes]:
    """Emit an event and attempt its delivery at ``at`` (None: right away); the signature header and
    body received."""
    delivery = Delivery.objects.get(
        event=emit(organization=org, type="call.completed", data={"callId": "call_1"}, mode="live")
    )
    before = len(hooks.requests)
    delivery_attempt(delivery_id=delivery.pk, now=at)
    assert len(hooks.requests) == before + 1
    request = hooks.requests[-1]
    return request.headers["x-aip-signature"], request.body


@pytest.mark.parametrize("overlap", ALL)
def test_a_webhook_secret_rotated_through_the_api_signs_alongside_the_new_one_until_the_overlap_ends(
    org: Organization, api: ApiClient, hooks: Receiver, overlap: str
) -> None:
    created = api.post("/webhooks", {"url": hooks.url, "events": ["*"]}).body["data"]
    old_secret = created["secret"]
    start = timezone.now()
    with _frozen(start):
        response = api.post(f"/webhooks/{created['id']}/rotate-secret", {"overlap": overlap})
    assert response.status_code == 200, response.body
    data = response.body["data"]
    new_secret = data["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    endpoint = Endpoint.objects.get(public_id=created["id"])
    assert endpoint.secret == new_secret
    if overlap == "now":
        assert data["previousSecretExpiresAt"] is None
        assert endpoint.previous_secret_encrypted == "" and endpoint.previous_secret_expires_at is None
    else:
        ends = start + rotation.WINDOWS[overlap]
        assert endpoint.previous_secret_expires_at == ends
        assert data["previousSecretExpiresAt"] == ends.isoformat().replace("+00:00", "Z")
        header, body = _delivered_at(org, ends - TICK, hooks)
        assert header.count("v1=") == 2
        assert _v1_matches(header, body, old_secret) == [True, False]
        assert _v1_matches(header, body, new_secret) == [False, True]
    window = rotation.WINDOWS[overlap]
    # With no overlap: the very first delivery after the rotation.
    header, body = _delivered_at(org, start + window if window else None, hooks)
    assert _v1_matches(header, body, new_secret) == [True]
    assert _v1_matches(header, body, old_secret) == [False]
    assert AuditEntry.objects.get(action="webhook.secret_rotated").metadata == {"overlap": overlap}


@pytest.mark.parametrize("overlap", ALL)
def test_the_webhook_service_accepts_each_overlap(org: Organization, hooks: Receiver, overlap: str) -> None:
    endpoint, old_secret = endpoint_create(organization=org, url=hooks.url, events=["*"], actor=None)
    start = timezone.now()
    with _frozen(start):
        endpoint, new_secret = endpoint_rotate_secret(endpoint=endpoint, overlap=overlap, actor=None)
    endpoint.refresh_from_db()
    window = rotation.WINDOWS[overlap]
    assert endpoint.secret == new_secret != old_secret
    assert endpoint.previous_secret_expires_at == (start + window if window else None)
    assert endpoint.signing_secrets(start) == ([old_secret, new_secret] if window else [new_secret])
    assert endpoint.signing_secrets(start + window) == [new_secret]


def test_a_webhook_rotation_without_a_body_uses_the_default_window(
    org: Organization, api: ApiClient, hooks: Receiver
) -> None:
    created = api.post("/webhooks", {"url": hooks.url, "events": ["*"]}).body["data"]
    start = timezone.now()
    with _frozen(start):
        response = api.post(f"/webhooks/{created['id']}/rotate-secret", raw="")
    assert response.status_code == 200
    assert Endpoint.objects.get(public_id=created["id"]).previous_secret_expires_at == start + timedelta(hours=24)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_webhook_overlap_is_a_validation_error_naming_overlap(
    org: Organization, api: ApiClient, hooks: Receiver, value: Any
) -> None:
    created = api.post("/webhooks", {"url": hooks.url, "events": ["*"]}).body["data"]
    response = api.post(f"/webhooks/{created['id']}/rotate-secret", {"overlap": value})
    assert response.status_code == 400
    error = response.body["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["fields"] == {"overlap": [CHOICES_MESSAGE]}
    endpoint = Endpoint.objects.get(public_id=created["id"])
    assert endpoint.secret == created["secret"] and endpoint.previous_secret_encrypted == ""


# --- the tool-call signing secret: overlap --------------------------------------------------------


@pytest.fixture
def tool_endpoint() -> Iterator[Receiver]:
    server = Receiver()
    server.default = Reply(status=200, body=b'{"status": "shipped"}', headers={"Content-Type": "application/json"})
    yield server
    server.close()


@pytest.fixture
def tool(org: Organization, tool_endpoint: Receiver) -> CustomTool:
    return make_tool(org, tool_endpoint.url)


def _tool_called_at(tool: CustomTool, at: datetime, endpoint: Receiver) -> tuple[str, bytes]:
    before = len(endpoint.requests)
    with _frozen(at):
        result = tool_invoke(tool=tool, arguments={"orderNumber": "A-1042"}, call_session_id="call_abc123", mode="live")
    assert result.ok, result.error_code
    assert len(endpoint.requests) == before + 1
    request = endpoint.requests[-1]
    return request.headers["x-aip-signature"], request.body


def _check_tool_signatures(
    tool: CustomTool, endpoint: Receiver, *, old: str, new: str, start: datetime, overlap: str
) -> None:
    window = rotation.WINDOWS[overlap]
    if window:
        header, body = _tool_called_at(tool, start + window - TICK, endpoint)
        assert _v1_matches(header, body, old) == [True, False]
        assert _v1_matches(header, body, new) == [False, True]
    header, body = _tool_called_at(tool, start + window, endpoint)
    assert _v1_matches(header, body, new) == [True] and _v1_matches(header, body, old) == [False]


@pytest.mark.parametrize("overlap", ALL)
def test_the_tool_signing_secret_rotated_from_the_dashboard_signs_calls_until_the_overlap_ends(
    org: Organization, owner: Any, tool: CustomTool, tool_endpoint: Receiver, overlap: str
) -> None:
    old = signing_secret_for(organization=org).secret
    start = timezone.now()
    with _frozen(start):
        response = _client_for(owner).post(
            "/settings/developer/tools/signing-secret/",
            {"action": "rotate", "overlap": overlap},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    record = ToolSigningSecret.objects.get(organization=org)
    new = record.secret
    assert new != old and new in response.content.decode() and old not in response.content.decode()
    window = rotation.WINDOWS[overlap]
    assert record.rotated_at == start
    assert record.previous_secret_expires_at == (start + window if window else None)
    assert ("The old secret no longer signs calls." in response.content.decode()) == (overlap == "now")
    assert AuditEntry.objects.get(action="tool.signing_secret_rotated").metadata == {"overlap": overlap}
    _check_tool_signatures(tool, tool_endpoint, old=old, new=new, start=start, overlap=overlap)


@pytest.mark.parametrize("overlap", ALL)
def test_the_tool_signing_secret_service_accepts_each_overlap(
    org: Organization, tool: CustomTool, tool_endpoint: Receiver, overlap: str
) -> None:
    old = signing_secret_for(organization=org).secret
    start = timezone.now()
    with _frozen(start):
        record, new = signing_secret_rotate(organization=org, actor=None, overlap=overlap)
    assert record.secret == new != old
    _check_tool_signatures(tool, tool_endpoint, old=old, new=new, start=start, overlap=overlap)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_tool_overlap_is_refused_naming_overlap_and_changes_nothing(
    org: Organization, owner: Any, value: Any
) -> None:
    before = signing_secret_for(organization=org)
    with pytest.raises(ValidationError) as caught:
        signing_secret_rotate(organization=org, actor=None, overlap=value)
    assert caught.value.message_dict == {"overlap": [CHOICES_MESSAGE]}
    if isinstance(value, str):  # a form can only send text
        response = _client_for(owner).post(
            "/settings/developer/tools/signing-secret/", {"action": "rotate", "overlap": value}
        )
        assert response.status_code == 400
        assert response.content.decode() == "Choose how long the old secret keeps signing."
    after = ToolSigningSecret.objects.get(organization=org)
    assert after.secret_encrypted == before.secret_encrypted and after.previous_secret_encrypted == ""
    assert not AuditEntry.objects.filter(action="tool.signing_secret_rotated").exists()


# --- the dashboards offer the five windows with the shared labels ----------------------------------

RADIO = re.compile(
    r'<input type="radio" name="(\w+)" value="([^"]*)"( checked)?>\s*'
    r'<span class="choice-text"><strong>([^<]*)</strong></span>'
)


def _offered(html: str, name: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (value, label) radio choices named ``name`` in ``html``, and the checked values."""
    found = [m for m in RADIO.finditer(html) if m.group(1) == name]
    return [(m.group(2), m.group(4)) for m in found], [m.group(2) for m in found if m.group(3)]


def test_the_keys_endpoints_and_tools_dashboards_offer_the_five_windows_with_the_shared_labels(
    org: Organization, owner: Any, hooks: Receiver
) -> None:
    client = _client_for(owner)
    expected = list(rotation.LABELS.items())
    make_key(org, name="Production server")
    key = ApiKey.objects.get(name="Production server")
    endpoint, _ = endpoint_create(organization=org, url=hooks.url, events=["*"], actor=None)

    pages = {
        "grace": client.get(f"/settings/developer/keys/{key.public_id}/rotate/"),
        "overlap": client.get(f"/settings/developer/webhooks/{endpoint.public_id}/rotate/"),
    }
    tools = client.get("/settings/developer/tools/")
    for name, response in pages.items():
        assert response.status_code == 200
        assert _offered(response.content.decode(), name) == (expected, [rotation.DEFAULT])
    assert tools.status_code == 200
    assert _offered(tools.content.decode(), "overlap") == (expected, [rotation.DEFAULT])


def test_after_a_rotation_the_tools_panel_keeps_offering_the_windows_with_the_choice_checked(
    org: Organization, owner: Any
) -> None:
    response = _client_for(owner).post(
        "/settings/developer/tools/signing-secret/",
        {"action": "rotate", "overlap": "3d"},
        headers={"HX-Request": "true"},
    )
    assert _offered(response.content.decode(), "overlap") == (list(rotation.LABELS.items()), ["3d"])
