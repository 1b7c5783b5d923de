"""Two-factor authentication (TOTP with recovery codes): the challenge at sign-in, staff need it for /admin/,
an owner can require it of the whole organisation; and the "sudo" window before sensitive actions."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AuditEntry, Membership, Role
from accounts.services import membership_set, organization_two_factor_set, user_get_or_create
from accounts.signin import SIGNED_IN_AT_SESSION_KEY
from developer.models import ApiKey
from tests.accounts.totp import totp_code
from tests.conftest import make_key
from webhooks.services import endpoint_create

PASSWORD = "correct-horse-battery"
KEYS = "/settings/developer/keys/"
ENROL = "/accounts/2fa/totp/activate/"
CHALLENGE = "/accounts/2fa/authenticate/"
REAUTH = "/accounts/reauthenticate/"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/settings/developer/webhooks/"}


def enrol(user: Any) -> tuple[str, list[str]]:
    """Give `user` an authenticator app; returns its secret and the recovery codes."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret, RecoveryCodes.activate(user).get_unused_codes()


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def stale(client: Client) -> Client:
    """The session signed in long ago: outside the sudo window."""
    session = client.session
    session[SIGNED_IN_AT_SESSION_KEY] = time.time() - 3600
    session.save()
    return client


@pytest.fixture
def staff(db: Any) -> Any:
    return get_user_model().objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", PASSWORD)


@pytest.fixture
def admin_two_factor(settings: Any) -> None:
    settings.ADMIN_REQUIRE_TWO_FACTOR = True  # production's default (the test settings turn it off)


# --- the challenge at sign-in ---------------------------------------------------------------------


def test_a_member_with_totp_is_asked_for_a_code_after_the_password(owner: Any, org: Any) -> None:
    secret, _ = enrol(owner)
    client = Client()
    response = client.post(f"/accounts/login/?next={KEYS}", {"login": "owner@acme.test", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(CHALLENGE)
    assert client.get(KEYS).status_code == 302  # the password alone is not a sign-in

    wrong = client.post(CHALLENGE, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content
    right = client.post(CHALLENGE, {"code": totp_code(secret)})
    assert right.status_code == 302 and right["Location"] == KEYS
    assert client.get(KEYS).status_code == 200


def test_a_recovery_code_signs_in_once(owner: Any, org: Any) -> None:
    _, codes = enrol(owner)
    first = Client()
    first.post("/accounts/login/", {"login": "owner@acme.test", "password": PASSWORD})
    assert first.post(CHALLENGE, {"code": codes[0]}).status_code == 302
    assert first.get(KEYS).status_code == 200
    again = Client()
    again.post("/accounts/login/", {"login": "owner@acme.test", "password": PASSWORD})
    assert again.post(CHALLENGE, {"code": codes[0]}).status_code == 200  # used
    assert again.get(KEYS).status_code == 302


def test_code_guessing_is_limited_per_account(owner: Any, org: Any) -> None:
    secret, _ = enrol(owner)
    client = Client()
    client.post("/accounts/login/", {"login": "owner@acme.test", "password": PASSWORD})
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    for _ in range(5):
        assert b"Too many" not in client.post(CHALLENGE, {"code": wrong}).content
    response = client.post(CHALLENGE, {"code": totp_code(secret)})
    assert response.status_code == 200 and b"Too many failed login attempts" in response.content


# --- staff and /admin/ ----------------------------------------------------------------------------


def test_admin_login_is_allauths(db: Any) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert Client().get("/admin/")["Location"].startswith("/admin/login/")


def test_staff_without_totp_are_sent_to_enrol_before_any_admin_page(staff: Any, admin_two_factor: None) -> None:
    client = signed_in("staff@aiphone360.test")
    for path in ("/admin/", "/admin/accounts/auditentry/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200 and b"Staff need two-factor authentication" in page.content


def test_staff_enrol_then_sign_in_through_the_totp_challenge_to_admin(
    staff: Any, admin_two_factor: None, settings: Any
) -> None:
    settings.MFA_TOTP_PERIOD = 3  # each code is single-use: a short step keeps the wait for the next one short
    client = Client()
    client.post("/accounts/login/", {"login": "staff@aiphone360.test", "password": PASSWORD})
    assert client.get("/admin/")["Location"] == ENROL
    secret = client.get(ENROL).context["form"].secret
    response = client.post(ENROL, {"code": totp_code(secret, period=3)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200

    # Next time: password, then a code, then the admin.
    fresh = Client()
    response = fresh.post("/accounts/login/?next=/admin/", {"login": "staff@aiphone360.test", "password": PASSWORD})
    assert response["Location"].startswith(CHALLENGE)
    assert fresh.get("/admin/").status_code == 302
    time.sleep(3 - time.time() % 3 + 0.05)  # the enrolment's code is spent: wait for the next step
    assert fresh.post(CHALLENGE, {"code": totp_code(secret, period=3)})["Location"] == "/admin/"
    assert fresh.get("/admin/").status_code == 200


def test_non_staff_cannot_use_admin(owner: Any, admin_two_factor: None) -> None:
    enrol(owner)
    assert signed_in("owner@acme.test").get("/admin/login/").status_code == 403


# --- the organisation requires two-factor -----------------------------------------------------------


def test_requiring_two_factor_is_audited_and_sends_members_without_it_to_enrol(org: Any, owner: Any) -> None:
    admin = user_get_or_create(email="admin@acme.test", password=PASSWORD)
    membership_set(organization=org, user=admin, role=Role.ADMIN)
    enrol(owner)
    organization_two_factor_set(organization=org, required=True, actor=owner)
    entry = AuditEntry.objects.get(organization=org, action="organization.two_factor_required")
    assert entry.actor_user == owner and entry.target_id == org.public_id

    client = signed_in("admin@acme.test")
    response = client.get(KEYS)
    assert response.status_code == 302 and response["Location"] == ENROL
    htmx = client.get(KEYS, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == ENROL
    assert b"Acme Dental requires two-factor authentication" in client.get(ENROL).content

    assert signed_in("owner@acme.test").get(KEYS).status_code == 200  # the owner has it
    enrol(admin)
    assert client.get(KEYS).status_code == 200

    organization_two_factor_set(organization=org, required=False, actor=owner)
    assert AuditEntry.objects.filter(organization=org, action="organization.two_factor_optional").count() == 1


def test_only_an_owner_with_two_factor_can_require_it_from_the_dashboard(org: Any, owner: Any) -> None:
    admin = user_get_or_create(email="admin@acme.test", password=PASSWORD)
    membership_set(organization=org, user=admin, role=Role.ADMIN)
    url = "/settings/developer/security/two-factor/"
    assert signed_in("admin@acme.test").post(url, {"required": "true"}).status_code == 403
    owner_client = signed_in("owner@acme.test")
    owner_client.post(url, {"required": "true"})
    org.refresh_from_db()
    assert not org.require_two_factor  # the owner has no authenticator yet: refused with a message

    enrol(owner)
    assert owner_client.post(url, {"required": "true"})["Location"] == "/settings/developer/security/"
    org.refresh_from_db()
    assert org.require_two_factor
    # Making it optional again weakens every member's sign-in: it needs a recent sign-in too.
    assert stale(owner_client).post(url, {"required": "false"})["Location"].startswith(REAUTH)
    org.refresh_from_db()
    assert org.require_two_factor
    owner_client.post(REAUTH, {"password": PASSWORD})
    page = owner_client.get("/settings/developer/security/").content.decode()
    assert "Make it optional" in page
    assert AuditEntry.objects.filter(organization=org, action="organization.two_factor_required").count() == 1


# --- the sudo window ----------------------------------------------------------------------------------


def test_revealing_a_webhook_secret_needs_a_recent_sign_in(org: Any, owner: Any, receiver: Any) -> None:
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    url = f"/settings/developer/webhooks/{endpoint.public_id}/secret/"
    assert secret in signed_in("owner@acme.test").post(url).content.decode()  # just signed in: inside

    client = stale(signed_in("owner@acme.test"))
    htmx = client.post(url, headers=HTMX)
    assert htmx.status_code == 200 and secret not in htmx.content.decode()
    assert htmx["HX-Redirect"] == f"{REAUTH}?next=%2Fsettings%2Fdeveloper%2Fwebhooks%2F"

    plain = client.post(url)
    assert plain.status_code == 302 and plain["Location"] == f"{REAUTH}?next={url.replace('/', '%2F')}"
    assert secret not in plain.content.decode()
    wrong = client.post(plain["Location"], {"password": "wrong"})
    assert wrong.status_code == 200 and secret not in wrong.content.decode()
    # The right password replays the reveal that was asked for.
    confirmed = client.post(plain["Location"], {"password": PASSWORD})
    assert confirmed.status_code == 200 and secret in confirmed.content.decode()
    assert secret in client.post(url, headers=HTMX).content.decode()  # and the window is open again
    assert AuditEntry.objects.filter(organization=org, action="webhook.secret_revealed").count() >= 2


def test_creating_a_live_key_needs_a_recent_sign_in_a_test_key_does_not(org: Any, owner: Any) -> None:
    client = stale(signed_in("owner@acme.test"))
    form = {"name": "Server", "access": "full", "expires": "never", "form_token": "t1"}
    assert client.post("/settings/developer/keys/new/", {**form, "mode": "test"}).status_code == 201
    live = client.post("/settings/developer/keys/new/", {**form, "mode": "live", "form_token": "t2"}, headers=HTMX)
    assert live["HX-Redirect"].startswith(REAUTH)
    assert not ApiKey.objects.filter(organization=org, mode="live").exists()
    client.post(REAUTH, {"password": PASSWORD})
    response = client.post("/settings/developer/keys/new/", {**form, "mode": "live", "form_token": "t3"})
    assert response.status_code == 201 and ApiKey.objects.filter(organization=org, mode="live").count() == 1


def test_rotating_a_live_key_needs_a_recent_sign_in(org: Any, owner: Any) -> None:
    make_key(org, mode="live", name="Live")
    key = ApiKey.objects.get(organization=org, name="Live")
    client = stale(signed_in("owner@acme.test"))
    url = f"/settings/developer/keys/{key.public_id}/rotate/"
    assert client.get(url, headers=HTMX)["HX-Redirect"].startswith(REAUTH)  # before the dialog opens
    assert client.post(url, {"grace": "1h"}).status_code == 302
    assert ApiKey.objects.filter(organization=org).count() == 1
    client.post(REAUTH, {"password": PASSWORD})
    assert client.post(url, {"grace": "1h"}).status_code == 201


def test_changing_a_role_needs_a_recent_sign_in_and_is_audited(org: Any, owner: Any) -> None:
    member = user_get_or_create(email="member@acme.test", password=PASSWORD)
    membership = membership_set(organization=org, user=member, role=Role.VIEWER)
    url = f"/settings/developer/members/{membership.pk}/role/"
    client = stale(signed_in("owner@acme.test"))
    assert client.post(url, {"role": "admin"})["Location"].startswith(REAUTH)
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER

    client.post(REAUTH, {"password": PASSWORD})
    assert client.post(url, {"role": "admin"})["Location"] == "/settings/developer/members/"
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    entry = AuditEntry.objects.get(organization=org, action="membership.role_changed")
    assert entry.actor_user == owner and entry.metadata == {
        "from": "viewer",
        "to": "admin",
        "member": "member@acme.test",
    }
    # Only owners change roles, and the last owner cannot step down.
    assert signed_in("member@acme.test").post(url, {"role": "owner"}).status_code == 403
    own = Membership.objects.get(organization=org, user=owner)
    client.post(f"/settings/developer/members/{own.pk}/role/", {"role": "viewer"})
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_another_organisations_member_is_a_404(org: Any, other_org: Any, owner: Any) -> None:
    stranger = user_get_or_create(email="stranger@other.test", password=PASSWORD)
    membership = membership_set(organization=other_org, user=stranger, role=Role.VIEWER)
    response = signed_in("owner@acme.test").post(
        f"/settings/developer/members/{membership.pk}/role/", {"role": "owner"}
    )
    assert response.status_code == 404
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
