"""Signing in to the dashboard (django-allauth): e-mail and password, failed attempts limited per account and
per client IP, password reset by e-mail, no self sign-up, sessions."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import Role
from accounts.services import membership_set, user_get_or_create
from tests.accounts.totp import totp_code

PASSWORD = "correct-horse-battery"
KEYS = "/settings/developer/keys/"
LOGIN = "/accounts/login/"
TOO_MANY = b"Too many failed login attempts"


def sign_in(client: Client, email: str, password: str) -> Any:
    return client.post(LOGIN, {"login": email, "password": password})


def test_totp_helper_matches_rfc6238() -> None:
    # RFC 6238 appendix B, SHA-1 at T = 59 s: 94287082 (8 digits); the tests' authenticator app is right.
    assert totp_code(base64.b32encode(b"12345678901234567890").decode(), at=59, digits=8) == "94287082"


def test_email_and_password_sign_in_lands_on_the_dashboard(owner: Any) -> None:
    client = Client()
    response = client.post(LOGIN + f"?next={KEYS}", {"login": "OWNER@acme.test", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == KEYS
    assert client.get(KEYS).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(owner: Any) -> None:
    response = sign_in(Client(), "owner@acme.test", "wrong")
    assert response.status_code == 200
    assert b'role="alert"' in response.content and b"not correct" in response.content
    assert Client().get(KEYS).status_code == 302


def test_failed_sign_ins_lock_the_account_whatever_the_ip(owner: Any) -> None:
    for n in range(5):  # SIGNIN_FAILED_RATE_LIMIT: 5 per account per 15 minutes
        response = sign_in(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), "owner@acme.test", "guess")
        assert response.status_code == 200 and TOO_MANY not in response.content
    # The sixth try, even with the right password and from yet another address, is refused.
    client = Client(REMOTE_ADDR="10.0.9.9")
    response = sign_in(client, "owner@acme.test", PASSWORD)
    assert response.status_code == 200 and TOO_MANY in response.content
    assert client.get(KEYS).status_code == 302
    # Another account is not affected.
    user_get_or_create(email="other@acme.test", password=PASSWORD)
    assert sign_in(Client(REMOTE_ADDR="10.0.9.9"), "other@acme.test", PASSWORD).status_code == 302


def test_failed_sign_ins_lock_the_ip_whatever_the_account(owner: Any) -> None:
    for n in range(20):  # 20 per client IP per 15 minutes, one guess at each of 20 accounts
        response = sign_in(Client(REMOTE_ADDR="203.0.113.7"), f"nobody{n}@acme.test", "guess")
        assert TOO_MANY not in response.content
    refused = sign_in(Client(REMOTE_ADDR="203.0.113.7"), "owner@acme.test", PASSWORD)
    assert refused.status_code == 200 and TOO_MANY in refused.content
    # The owner, from their own address, still signs in: the account itself had no failure.
    assert sign_in(Client(REMOTE_ADDR="198.51.100.1"), "owner@acme.test", PASSWORD).status_code == 302


def test_a_successful_sign_in_does_not_reset_the_account_count(owner: Any) -> None:
    """An attacker who knows one password cannot interleave successes to keep guessing another's."""
    for _ in range(4):
        sign_in(Client(), "owner@acme.test", "guess")
    assert sign_in(Client(), "owner@acme.test", PASSWORD).status_code == 302  # right: not counted, not reset
    assert TOO_MANY not in sign_in(Client(), "owner@acme.test", "guess").content  # the fifth failure
    assert TOO_MANY in sign_in(Client(), "owner@acme.test", "guess").content  # over


def test_password_reset_by_email_sets_a_new_password(owner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": "owner@acme.test"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@acme.test"] and message.subject.startswith("[AI Phone 360]")
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", str(message.body))
    assert link, message.body

    # The link leads to the form (allauth moves the key into the session first), which sets the password.
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200 and b'name="password1"' in form.content
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"password1": "a-new-passphrase-for-acme", "password2": "a-new-passphrase-for-acme"})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/key/done/"
    owner.refresh_from_db()
    assert owner.check_password("a-new-passphrase-for-acme")
    assert sign_in(Client(), "owner@acme.test", "a-new-passphrase-for-acme").status_code == 302
    assert sign_in(Client(), "owner@acme.test", PASSWORD).status_code == 200

    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert b'name="password1"' not in again.content


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(db: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = Client().post("/accounts/password/reset/", {"email": "stranger@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert mail.outbox == []


def test_password_reset_requests_are_limited_per_address(owner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    statuses = [
        Client(REMOTE_ADDR=f"10.1.0.{n}").post("/accounts/password/reset/", {"email": "owner@acme.test"}).status_code
        for n in range(5)
    ]
    assert statuses[:3] == [302, 302, 302] and 429 in statuses[3:]  # 3 per account per 15 minutes
    assert len(mail.outbox) == 3
    refused = Client(REMOTE_ADDR="10.1.0.9").post("/accounts/password/reset/", {"email": "owner@acme.test"})
    assert refused.status_code == 429 and b"<h1>Too many attempts</h1>" in refused.content


def test_nobody_signs_themselves_up(db: Any) -> None:
    client = Client()
    page = client.get("/accounts/signup/")
    assert b"Sign Up Closed" in page.content
    client.post("/accounts/signup/", {"email": "new@example.com", "password1": "a-long-passphrase-1"})
    assert not get_user_model().objects.filter(email="new@example.com").exists()


def test_sessions_page_lists_sessions_and_signs_out_the_others(owner: Any, org: Any) -> None:
    laptop, phone = Client(HTTP_USER_AGENT="Laptop browser"), Client(HTTP_USER_AGENT="Phone browser")
    assert sign_in(laptop, "owner@acme.test", PASSWORD).status_code == 302
    assert sign_in(phone, "owner@acme.test", PASSWORD).status_code == 302
    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    assert b"Laptop browser" in page.content and b"Phone browser" in page.content
    assert b"Sign Out Other Sessions" in page.content

    assert laptop.post("/accounts/sessions/").status_code == 302
    assert phone.get(KEYS).status_code == 302  # signed out
    assert laptop.get(KEYS).status_code == 200  # still in


def test_the_security_page_links_two_factor_sessions_and_password(owner: Any, org: Any) -> None:
    client = Client()
    sign_in(client, "owner@acme.test", PASSWORD)
    page = client.get("/settings/developer/security/").content.decode()
    for url in ("/accounts/2fa/", "/accounts/sessions/", "/accounts/password/change/"):
        assert f'href="{url}"' in page
    assert 'href="/settings/developer/security/"' in client.get(KEYS).content.decode()  # in the navigation


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/password/reset/"])
def test_sign_in_pages_carry_no_inline_script(db: Any, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert not re.search(rb"<script(?![^>]*\bsrc=)", response.content) and b" on" + b"click=" not in response.content


def test_viewer_membership_still_signs_in(org: Any) -> None:
    user = user_get_or_create(email="viewer2@acme.test", password=PASSWORD)
    membership_set(organization=org, user=user, role=Role.VIEWER)
    client = Client()
    assert sign_in(client, "viewer2@acme.test", PASSWORD).status_code == 302
    assert client.get(KEYS).status_code == 200
