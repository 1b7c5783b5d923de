"""The API keys pages: list, create (secret once), rotate, revoke — with and without htmx — and roles."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry
from developer import services
from developer.keys import hash_secret
from developer.models import ApiKey
from developer.scopes import ALL_SCOPES, READ_ONLY_SCOPES
from tests.conftest import ApiClient, make_key

PASSWORD = "correct-horse-battery"
KEYS = "/settings/developer/keys/"
NEW = "/settings/developer/keys/new/"
HTMX = {"HX-Request": "true", "HX-Target": "dialog-body"}
SECRET_IN_HTML = re.compile(r'id="new-secret" type="text" value="(aip_(?:live|test)_[A-Za-z0-9_\-]{43})"')


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


@pytest.fixture
def owner_client(owner: Any) -> Client:
    return signed_in("owner@acme.test")


@pytest.fixture
def viewer_client(viewer: Any) -> Client:
    return signed_in("viewer@acme.test")


def create_form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "CRM sync",
        "mode": "live",
        "access": "full",
        "expires": "never",
        "form_token": "tok-1",
        **overrides,
    }


# --- list ------------------------------------------------------------------------------------------------


def test_key_table_shows_name_mode_masked_key_scopes_and_status_never_the_hash(owner_client: Client, org: Any) -> None:
    make_key(org, mode="live", name="Production server")
    make_key(org, mode="test", name="Staging", scopes=list(READ_ONLY_SCOPES))
    live = ApiKey.objects.get(name="Production server")
    html = owner_client.get(KEYS).content.decode()
    row = html[html.index(f'id="key-row-{live.public_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Production server" in row and live.masked in row
    assert '<span class="badge badge-live">Live</span>' in row
    assert "Full access" in row and "Active" in row and "Never" in row
    assert "Read-only" in html and '<span class="badge badge-test">Test</span>' in html
    assert live.key_hash not in html


def test_mode_tabs_filter_the_table(owner_client: Client, org: Any) -> None:
    make_key(org, mode="live", name="Production server")
    make_key(org, mode="test", name="Staging")
    html = owner_client.get(KEYS + "?mode=test").content.decode()
    assert "Staging" in html and "Production server" not in html


def test_empty_state_tells_managers_and_viewers_what_to_do(owner_client: Client, viewer_client: Client) -> None:
    assert "Create a test key first" in owner_client.get(KEYS).content.decode()
    viewer_html = viewer_client.get(KEYS).content.decode()
    assert "Ask one of them to create a key for you" in viewer_html and "+ Create key" not in viewer_html


def test_htmx_table_refresh_returns_only_the_table_partial(owner_client: Client, org: Any) -> None:
    make_key(org, name="Production server")
    response = owner_client.get(KEYS, headers={"HX-Request": "true", "HX-Target": "key-table"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div class="card" id="key-table"') and "<html" not in html
    assert "Production server" in html


# --- create ----------------------------------------------------------------------------------------------


def test_create_without_javascript_shows_the_secret_once_and_stores_only_its_hash(
    owner_client: Client, org: Any, owner: Any
) -> None:
    assert b'name="form_token"' in owner_client.get(NEW).content
    response = owner_client.post(NEW, create_form())
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    shown = SECRET_IN_HTML.search(html)
    assert shown is not None, "no secret in the page"
    secret = shown.group(1)
    assert "This is the only time the secret is shown." in html and "<h1>API keys</h1>" in html

    key = ApiKey.objects.get(organization=org, name="CRM sync")
    assert key.key_hash == hash_secret(secret) and key.mode == "live" and key.scopes == list(ALL_SCOPES)
    assert key.created_by == owner
    entry = AuditEntry.objects.get(organization=org, action="api_key.created")
    assert entry.actor_user == owner and entry.target_id == key.public_id

    reloaded = owner_client.get(KEYS).content.decode()
    assert secret not in reloaded and key.masked in reloaded
    # The new secret works on the public API at once.
    assert ApiClient(secret).get("/keys").status_code == 200


def test_create_with_htmx_answers_with_the_secret_panel_and_a_refresh_event(owner_client: Client, org: Any) -> None:
    response = owner_client.post(NEW, create_form(mode="test"), headers=HTMX)
    assert response.status_code == 201
    assert response["HX-Trigger"] == '{"keys-changed": {}}'
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="secret-panel"') and "<html" not in html
    shown = SECRET_IN_HTML.search(html)
    assert shown is not None, "no secret in the page"
    secret = shown.group(1)
    assert ApiKey.objects.get(name="CRM sync").key_hash == hash_secret(secret)


def test_reposting_the_same_create_form_makes_no_second_key_and_shows_no_secret(owner_client: Client, org: Any) -> None:
    owner_client.post(NEW, create_form())
    again = owner_client.post(NEW, create_form(), follow=True)
    assert ApiKey.objects.filter(organization=org).count() == 1
    html = again.content.decode()
    assert not SECRET_IN_HTML.search(html)
    assert "Its secret was shown once and cannot be shown again." in html


@pytest.mark.parametrize(
    ("access", "posted", "expected"),
    [
        ("read", ["write:sms"], sorted(READ_ONLY_SCOPES)),
        ("full", [], sorted(ALL_SCOPES)),
        ("custom", ["write:sms", "read:calls"], ["read:calls", "write:sms"]),
    ],
)
def test_access_presets_decide_the_scopes_without_javascript(
    owner_client: Client, org: Any, access: str, posted: list[str], expected: list[str]
) -> None:
    owner_client.post(NEW, {**create_form(access=access), "scopes": posted})
    assert sorted(ApiKey.objects.get(name="CRM sync").scopes) == expected


def test_create_form_lists_every_scope_with_its_description(owner_client: Client) -> None:
    html = owner_client.get(NEW).content.decode()
    assert "<code>write:sms</code><span>Send SMS via POST /messages.</span>" in html
    assert html.count('name="scopes"') == len(ALL_SCOPES)


def test_expiry_choice_sets_expires_at(owner_client: Client) -> None:
    owner_client.post(NEW, create_form(expires="30d"))
    key = ApiKey.objects.get(name="CRM sync")
    assert key.expires_at is not None
    assert abs(key.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_invalid_create_re_renders_the_form_with_field_errors_and_writes_nothing(
    owner_client: Client, org: Any
) -> None:
    response = owner_client.post(NEW, create_form(name="  ", mode="prod", access="custom"), headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the key a name (1–100 characters)." in html
    assert "Must be &#x27;test&#x27; or &#x27;live&#x27;." in html
    assert "Give a non-empty list of scopes." in html
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert not ApiKey.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(organization=org, action="api_key.created").exists()


def test_dashboard_calls_the_same_service_as_the_api_with_the_user_as_actor(
    owner_client: Client, org: Any, owner: Any
) -> None:
    with mock.patch(
        "developer.views.services.api_key_create", autospec=True, side_effect=services.api_key_create
    ) as create:
        owner_client.post(NEW, create_form())
    create.assert_called_once()
    assert create.call_args.kwargs["actor"] == owner and create.call_args.kwargs["organization"] == org


# --- rotate ----------------------------------------------------------------------------------------------


def test_rotate_issues_a_new_secret_and_keeps_the_old_key_for_the_grace_period(
    owner_client: Client, org: Any, owner: Any
) -> None:
    old_secret = make_key(org, name="Production server")
    old = ApiKey.objects.get(name="Production server")
    form = owner_client.get(f"{KEYS}{old.public_id}/rotate/", headers=HTMX).content.decode()
    for label in ("Immediately", "In 1 hour", "In 24 hours", "In 3 days", "In 7 days"):
        assert label in form

    response = owner_client.post(f"{KEYS}{old.public_id}/rotate/", {"grace": "1h"}, headers=HTMX)
    assert response.status_code == 201 and response["HX-Trigger"] == '{"keys-changed": {}}'
    shown = SECRET_IN_HTML.search(response.content.decode())
    assert shown is not None, "no secret in the page"
    new_secret = shown.group(1)
    new = ApiKey.objects.get(rotated_from=old)
    old.refresh_from_db()
    assert new.key_hash == hash_secret(new_secret) and new.name == old.name and new.scopes == old.scopes
    assert old.expires_at is not None
    assert abs(old.expires_at - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)
    assert AuditEntry.objects.get(action="api_key.rotated").actor_user == owner
    assert ApiClient(old_secret).get("/keys").status_code == 200
    assert ApiClient(new_secret).get("/keys").status_code == 200


def test_rotating_an_already_rotated_key_explains_why_not(owner_client: Client, org: Any) -> None:
    make_key(org, name="Production server")
    old = ApiKey.objects.get(name="Production server")
    owner_client.post(f"{KEYS}{old.public_id}/rotate/", {"grace": "24h"})
    response = owner_client.post(f"{KEYS}{old.public_id}/rotate/", {"grace": "24h"}, headers=HTMX)
    assert response.status_code == 400
    assert "already been rotated" in response.content.decode()
    assert ApiKey.objects.filter(organization=org).count() == 2


def test_rotate_without_a_grace_choice_is_a_form_error(owner_client: Client, org: Any) -> None:
    make_key(org, name="Production server")
    old = ApiKey.objects.get(name="Production server")
    response = owner_client.post(f"{KEYS}{old.public_id}/rotate/", {"grace": "forever"})
    assert response.status_code == 400
    assert "Choose how long the old key keeps working." in response.content.decode()
    assert ApiKey.objects.filter(organization=org).count() == 1


# --- revoke ----------------------------------------------------------------------------------------------


def test_revoke_confirmation_names_the_key(owner_client: Client, org: Any) -> None:
    make_key(org, name="Production server")
    key = ApiKey.objects.get(name="Production server")
    html = owner_client.get(f"{KEYS}{key.public_id}/revoke/", headers=HTMX).content.decode()
    assert f"Revoking <strong>Production server</strong> (<code>{key.masked}</code>, live)" in html
    assert "Revoke Production server</button>" in html


def test_revoke_with_htmx_goes_to_the_list_with_a_message_and_the_key_stops_working(
    owner_client: Client, org: Any, owner: Any
) -> None:
    secret = make_key(org, name="Production server")
    key = ApiKey.objects.get(name="Production server")
    assert ApiClient(secret).get("/keys").status_code == 200
    response = owner_client.post(
        f"{KEYS}{key.public_id}/revoke/", headers={"HX-Request": "true", "HX-Target": f"key-row-{key.public_id}"}
    )
    # The list again (HX-Redirect), which shows what was done: a change always says so.
    assert response.status_code == 200 and response["HX-Redirect"] == KEYS
    listing = owner_client.get(KEYS).content.decode()
    assert "Revoked Production server" in listing and "now fail with INVALID_API_KEY" in listing
    assert "Revoke Production server" not in listing  # no actions left on a revoked key
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEntry.objects.get(action="api_key.revoked").actor_user == owner
    after = ApiClient(secret).get("/keys")
    assert after.status_code == 401 and after.body["error"]["code"] == "INVALID_API_KEY"


def test_revoke_without_javascript_redirects_with_a_message(owner_client: Client, org: Any) -> None:
    make_key(org, name="Production server")
    key = ApiKey.objects.get(name="Production server")
    response = owner_client.post(f"{KEYS}{key.public_id}/revoke/", follow=True)
    assert response.redirect_chain == [(KEYS, 302)]
    assert "Revoked Production server" in response.content.decode()


# --- roles and tenancy -------------------------------------------------------------------------------


def test_viewer_sees_no_manage_buttons(viewer_client: Client, org: Any) -> None:
    make_key(org, name="Production server")
    html = viewer_client.get(KEYS).content.decode()
    assert "Production server" in html
    for label in ("+ Create key", ">Rotate<", ">Revoke<"):
        assert label not in html


@pytest.mark.parametrize("action", ["new", "rotate", "revoke"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_viewer_is_refused_every_key_action_with_403(viewer_client: Client, org: Any, action: str, method: str) -> None:
    make_key(org, name="Production server")
    key = ApiKey.objects.get(name="Production server")
    url = NEW if action == "new" else f"{KEYS}{key.public_id}/{action}/"
    response = getattr(viewer_client, method)(url, {**create_form(), "grace": "now"} if method == "post" else None)
    assert response.status_code == 403
    assert "Only owners and admins can change this." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None and key.expires_at is None
    assert ApiKey.objects.filter(organization=org).count() == 1


def test_another_organisations_key_is_a_404(owner_client: Client, other_org: Any) -> None:
    make_key(other_org, name="Theirs")
    theirs = ApiKey.objects.get(name="Theirs")
    for action in ("rotate", "revoke"):
        assert owner_client.post(f"{KEYS}{theirs.public_id}/{action}/", {"grace": "now"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and theirs.expires_at is None


def test_csrf_is_enforced_on_dashboard_posts(owner: Any, org: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.login(username="owner@acme.test", password=PASSWORD)
    assert client.post(NEW, create_form()).status_code == 403
    assert not ApiKey.objects.filter(organization=org).exists()


def test_the_list_badges_expiring_only_within_seven_days(owner_client: Client, org: Any) -> None:
    """Issue 17 point 7: a fresh 30-day key is Active; one with 6 days left is Expiring."""
    from datetime import timedelta

    from django.utils import timezone

    make_key(org, name="Thirty days")
    make_key(org, name="Six days")
    now = timezone.now()
    ApiKey.objects.filter(name="Thirty days").update(expires_at=now + timedelta(days=30))
    ApiKey.objects.filter(name="Six days").update(expires_at=now + timedelta(days=6))
    html = owner_client.get(KEYS).content.decode()
    thirty = html[html.index("Thirty days") :]
    six = html[html.index("Six days") :]
    assert thirty[: thirty.index("</tr>")].count("badge-active") == 1
    assert "badge-expiring" in six[: six.index("</tr>")]
    assert "badge-expiring" not in thirty[: thirty.index("</tr>")]


@pytest.mark.django_db
def test_a_bad_expiry_is_reported_together_with_the_other_fields_problems(owner_client: Client, org: Any) -> None:
    response = owner_client.post(NEW, create_form(name="", mode="test", expires="forever"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose when the key expires." in html
    assert "Give the key a name (1–100 characters)." in html
    assert not ApiKey.objects.filter(organization=org).exists()
