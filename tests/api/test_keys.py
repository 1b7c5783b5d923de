"""API keys through the public API: creation, masking, scopes, rotation windows, revocation, tenancy."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from core import fastcache
from developer.keys import hash_secret
from developer.models import ApiKey
from developer.scopes import ALL_SCOPES
from tests.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"^aip_(live|test)_[A-Za-z0-9_\-]{43}$")


def test_create_returns_the_secret_once_and_stores_only_its_hash(org, api: ApiClient) -> None:
    response = api.post("/keys", {"name": "Reporting", "mode": "test", "scopes": ["read:calls", "read:usage"]})
    assert response.status_code == 201
    data = response.body["data"]
    assert SECRET.match(data["secret"])
    assert data["secret"].startswith("aip_test_")
    assert data["id"].startswith("key_")
    assert data["maskedKey"] == "aip_test_…" + data["secret"][-4:]
    assert data["scopes"] == ["read:calls", "read:usage"]
    row = ApiKey.objects.get(public_id=data["id"])
    assert row.key_hash == hash_secret(data["secret"])
    assert data["secret"] not in str(ApiKey.objects.filter(pk=row.pk).values().get())
    listed = api.get("/keys").body["data"]
    assert all("secret" not in item for item in listed)
    assert data["secret"] not in str(listed)
    # The new key works.
    assert ApiClient(data["secret"]).get("/keys").status_code == 200
    assert AuditEntry.objects.filter(action="api_key.created", target_id=data["id"], actor_type="api_key").exists()


def test_key_length_is_prefix_plus_43(org) -> None:
    secret = make_key(org, mode="live")
    assert len(secret) == len("aip_live_") + 43


@pytest.mark.parametrize("scopes", [[], "read:calls", ["read:calls", "admin:all"], None])
def test_scopes_must_be_a_non_empty_subset_of_the_eleven(api: ApiClient, scopes) -> None:
    body = {"name": "k", "mode": "test"}
    if scopes is not None:
        body["scopes"] = scopes
    response = api.post("/keys", body)
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert "scopes" in response.body["error"]["fields"]
    assert ApiKey.objects.count() == 1  # nothing half-written


def test_a_key_cannot_grant_scopes_it_does_not_hold(org) -> None:
    limited = ApiClient(make_key(org, scopes=["manage:config", "read:calls"]))
    response = limited.post("/keys", {"name": "x", "mode": "live", "scopes": ["read:calls", "write:sms"]})
    assert response.status_code == 403
    assert response.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert "write:sms" in response.body["error"]["message"]
    ok = limited.post("/keys", {"name": "x", "mode": "live", "scopes": ["read:calls"]})
    assert ok.status_code == 201


def test_a_test_key_can_only_create_test_keys(org, test_api: ApiClient) -> None:
    response = test_api.post("/keys", {"name": "x", "mode": "live", "scopes": ["read:calls"]})
    assert response.status_code == 403
    assert test_api.post("/keys", {"name": "x", "mode": "test", "scopes": ["read:calls"]}).status_code == 201


def test_a_limited_key_cannot_rotate_a_more_powerful_key(org, live_key: str) -> None:
    full_id = ApiKey.objects.get(key_hash=hash_secret(live_key)).public_id
    limited = ApiClient(make_key(org, scopes=["manage:config"]))
    response = limited.post(f"/keys/{full_id}/rotate", {"gracePeriod": "1h"})
    assert response.status_code == 403
    assert ApiKey.objects.count() == 2


def test_creating_keys_needs_manage_config(org) -> None:
    reader = ApiClient(make_key(org, scopes=["read:usage"]))
    assert reader.get("/keys").status_code == 200
    response = reader.post("/keys", {"name": "x", "mode": "test", "scopes": ["read:usage"]})
    assert response.body["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_another_organisations_key_id_is_not_found(org, other_org, api: ApiClient) -> None:
    make_key(other_org)
    foreign = ApiKey.objects.get(organization=other_org).public_id
    for path in (f"/keys/{foreign}/revoke", f"/keys/{foreign}/rotate"):
        response = api.post(path, {"gracePeriod": "now"})
        assert response.status_code == 404
        assert response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert ApiKey.objects.get(public_id=foreign).revoked_at is None
    assert foreign not in str(api.get("/keys").body)
    response = api.get(f"/keys/{foreign}")
    assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_a_key_is_read_by_its_id_masked_as_in_the_list(org, api: ApiClient) -> None:
    created = api.post("/keys", {"name": "Reporting", "mode": "test", "scopes": ["read:calls"]}).body["data"]

    response = api.get(f"/keys/{created['id']}")

    assert response.status_code == 200, response.body
    listed = next(key for key in api.get("/keys").body["data"] if key["id"] == created["id"])
    assert response.body["data"] == listed
    assert response.body["data"]["name"] == "Reporting" and response.body["data"]["mode"] == "test"
    assert "secret" not in response.body["data"] and created["secret"] not in response.content.decode()
    assert api.get("/keys/key_doesnotexist00").status_code == 404


def _rotate(api: ApiClient, key_id: str, grace: str):
    response = api.post(f"/keys/{key_id}/rotate", {"gracePeriod": grace})
    assert response.status_code == 201, response.body
    return response.body["data"]


@pytest.mark.parametrize(
    "grace,delta",
    [("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)), ("3d", timedelta(days=3)), ("7d", timedelta(days=7))],
)
def test_rotated_key_works_until_the_end_of_its_window(org, grace: str, delta: timedelta) -> None:
    old_secret = make_key(org)
    old = ApiClient(old_secret)
    old_id = ApiKey.objects.get(key_hash=hash_secret(old_secret)).public_id
    start = timezone.now()
    with mock.patch("django.utils.timezone.now", autospec=True, return_value=start):
        data = _rotate(old, old_id, grace)
    new = ApiClient(data["secret"])
    assert data["name"] == "Test key" and data["scopes"] == list(ALL_SCOPES)
    assert data["rotatedFrom"]["id"] == old_id
    assert SECRET.match(data["secret"]) and data["secret"] != old_secret
    just_before = start + delta - timedelta(microseconds=1)
    with mock.patch("django.utils.timezone.now", autospec=True, return_value=just_before):
        assert old.get("/keys").status_code == 200
        assert new.get("/keys").status_code == 200
    with mock.patch("django.utils.timezone.now", autospec=True, return_value=start + delta):
        assert old.get("/keys").body["error"]["code"] == "INVALID_API_KEY"
        assert new.get("/keys").status_code == 200


def test_rotation_with_no_grace_cuts_the_old_key_at_once(org, api: ApiClient, live_key: str) -> None:
    key_id = ApiKey.objects.get(key_hash=hash_secret(live_key)).public_id
    data = _rotate(api, key_id, "now")
    assert api.get("/keys").body["error"]["code"] == "INVALID_API_KEY"
    assert ApiClient(data["secret"]).get("/keys").status_code == 200


def test_rotation_rejects_unknown_grace_and_double_rotation(org, api: ApiClient, live_key: str) -> None:
    key_id = ApiKey.objects.get(key_hash=hash_secret(live_key)).public_id
    bad = api.post(f"/keys/{key_id}/rotate", {"gracePeriod": "2w"})
    assert bad.status_code == 400 and "gracePeriod" in bad.body["error"]["fields"]
    _rotate(api, key_id, "1h")
    again = api.post(f"/keys/{key_id}/rotate", {"gracePeriod": "1h"})
    assert again.status_code == 400
    assert "already been rotated" in again.body["error"]["message"]
    assert ApiKey.objects.count() == 2


def test_revoke_is_immediate_and_idempotent(org, api: ApiClient) -> None:
    victim_secret = make_key(org, name="victim")
    victim = ApiClient(victim_secret)
    assert victim.get("/keys").status_code == 200
    victim_id = ApiKey.objects.get(key_hash=hash_secret(victim_secret)).public_id
    response = api.post(f"/keys/{victim_id}/revoke")
    assert response.status_code == 200
    assert response.body["data"]["status"] == "revoked"
    assert victim.get("/keys").body["error"]["code"] == "INVALID_API_KEY"
    assert api.post(f"/keys/{victim_id}/revoke").status_code == 200
    assert AuditEntry.objects.filter(action="api_key.revoked", target_id=victim_id).count() == 1


def test_revoked_key_cannot_be_rotated(org, api: ApiClient) -> None:
    secret = make_key(org)
    key_id = ApiKey.objects.get(key_hash=hash_secret(secret)).public_id
    api.post(f"/keys/{key_id}/revoke")
    response = api.post(f"/keys/{key_id}/rotate", {"gracePeriod": "1h"})
    assert response.status_code == 400
    assert "revoked" in response.body["error"]["message"]


def test_last_used_is_written_at_most_once_a_minute(org, api: ApiClient, live_key: str) -> None:
    key = ApiKey.objects.get(key_hash=hash_secret(live_key))
    api.get("/keys")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    for _ in range(5):
        api.get("/keys")
    key.refresh_from_db()
    assert key.last_used_at == first
    fastcache.forget(f"apikey:used:{key.pk}")  # the minute has passed
    api.get("/keys")
    key.refresh_from_db()
    assert key.last_used_at > first


def test_expires_at_must_be_in_the_future(api: ApiClient) -> None:
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = api.post("/keys", {"name": "x", "mode": "test", "scopes": ["read:calls"], "expiresAt": past})
    assert response.status_code == 400 and "expiresAt" in response.body["error"]["fields"]
    bad = api.post("/keys", {"name": "x", "mode": "test", "scopes": ["read:calls"], "expiresAt": "tomorrow"})
    assert bad.status_code == 400 and "expiresAt" in bad.body["error"]["fields"]
