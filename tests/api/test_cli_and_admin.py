"""Provisioning commands and the staff admin."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import AuditEntry, Membership, Organization
from billing.models import PlatformAddon
from developer.keys import hash_secret
from developer.models import ApiKey
from tests.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


def _json(command: str, *args: str) -> dict:
    out = StringIO()
    call_command(command, *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_organization_then_api_key_gives_a_working_key() -> None:
    org = _json(
        "create_organization",
        "--name",
        "Bay Plumbing",
        "--plan",
        "BASIC",
        "--addon",
        "--credits",
        "12.50",
        "--owner",
        "boss@bay.test",
        "--password",
        "s3cret-pass-word",
    )
    assert org["id"].startswith("biz_") and org["balance"] == "12.500000" and org["addon"] is True
    row = Organization.objects.get(public_id=org["id"])
    assert row.subscription.plan.code == "BASIC"
    assert Membership.objects.get(organization=row).role == "owner"
    assert get_user_model().objects.get(username="boss@bay.test").check_password("s3cret-pass-word")
    key = _json("create_api_key", "--org", org["id"], "--mode", "live", "--scopes", "read:usage,read:calls")
    assert key["secret"].startswith("aip_live_") and key["scopes"] == ["read:calls", "read:usage"]
    response = ApiClient(key["secret"]).get("/keys")
    assert response.status_code == 200
    assert response.body["data"][0]["id"] == key["id"]


def test_create_api_key_refuses_unknown_scopes_and_orgs(org) -> None:
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "--org", org.public_id, "--mode", "test", "--scopes", "read:everything")
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_key", "--org", "biz_nope", "--mode", "test")
    assert not ApiKey.objects.exists()


def test_create_organization_without_addon_is_gated() -> None:
    org = _json("create_organization", "--name", "No Addon", "--credits", "5")
    key = _json("create_api_key", "--org", org["id"], "--mode", "test")
    assert ApiClient(key["secret"]).get("/keys").body["error"]["code"] == "PLATFORM_ADDON_REQUIRED"


@pytest.fixture
def staff_client(db) -> tuple[Client, object]:
    staff = get_user_model().objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", "pw")
    client = Client()
    client.force_login(staff)
    return client, staff


def test_admin_grants_and_revokes_the_addon_recording_who_and_when(staff_client, db) -> None:
    client, staff = staff_client
    org = _json("create_organization", "--name", "Needs Addon", "--credits", "5")
    row = Organization.objects.get(public_id=org["id"])
    secret = make_key(row)
    assert ApiClient(secret).get("/keys").status_code == 402
    response = client.post(
        "/admin/accounts/organization/",
        {"action": "grant_addon", "_selected_action": [row.pk], "reason": ""},
        follow=True,
    )
    assert response.status_code == 200
    addon = PlatformAddon.objects.get(organization=row)
    assert addon.granted_by == staff and addon.granted_at is not None
    assert ApiClient(secret).get("/keys").status_code == 200
    client.post("/admin/accounts/organization/", {"action": "revoke_addon", "_selected_action": [row.pk]})
    addon.refresh_from_db()
    assert addon.revoked_by == staff and addon.revoked_at is not None
    assert ApiClient(secret).get("/keys").body["error"]["code"] == "PLATFORM_ADDON_REQUIRED"
    actions = list(AuditEntry.objects.filter(organization=row, actor_user=staff).values_list("action", flat=True))
    assert sorted(actions) == ["addon.granted", "addon.revoked"]


def test_admin_suspends_with_a_reason_and_reinstates(staff_client, org, live_key) -> None:
    client, staff = staff_client
    client.post("/admin/accounts/organization/", {"action": "suspend", "_selected_action": [org.pk], "reason": ""})
    org.refresh_from_db()
    assert org.suspended_at is None  # a reason is required
    client.post(
        "/admin/accounts/organization/",
        {"action": "suspend", "_selected_action": [org.pk], "reason": "Spam complaints"},
    )
    org.refresh_from_db()
    assert org.suspended_by == staff and org.suspension_reason == "Spam complaints"
    assert ApiClient(live_key).get("/keys").body["error"]["code"] == "BUSINESS_SUSPENDED"
    client.post("/admin/accounts/organization/", {"action": "reinstate", "_selected_action": [org.pk]})
    assert ApiClient(live_key).get("/keys").status_code == 200


def test_admin_lists_keys_masked_and_never_reveals_them(staff_client, org, live_key) -> None:
    client, _ = staff_client
    key = ApiKey.objects.get(key_hash=hash_secret(live_key))
    listing = client.get("/admin/developer/apikey/").content.decode()
    detail = client.get(f"/admin/developer/apikey/{key.pk}/change/").content.decode()
    for page in (listing, detail):
        assert key.masked in page
        assert live_key not in page
        assert key.key_hash not in page
    org_page = client.get(f"/admin/accounts/organization/{org.pk}/change/").content.decode()
    assert "Developer Platform add-on" in org_page and "50.000000" in org_page
