"""The dashboard shell: sign-in, the organisation picker, roles, navigation and htmx plumbing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from accounts.services import membership_set, user_get_or_create
from developer.dashboard import SESSION_ORG_KEY
from developer.nav import NAV_ITEMS
from tests.conftest import make_key, make_org

PASSWORD = "correct-horse-battery"
KEYS = "/settings/developer/keys/"


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def test_anonymous_visitor_is_sent_to_the_login_page(db: Any) -> None:
    response = Client().get(KEYS)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={KEYS}"


def test_login_form_signs_in_and_lands_on_api_keys(owner: Any) -> None:
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'<label for="id_login">Email</label>' in page.content
    response = client.post("/accounts/login/", {"login": "owner@acme.test", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1] == (KEYS, 302)
    assert b"<h1>API keys</h1>" in response.content


def test_wrong_password_is_refused_with_a_message(owner: Any) -> None:
    response = Client().post("/accounts/login/", {"login": "owner@acme.test", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content and b"password you specified are not correct" in response.content


def test_logout_is_a_post_and_ends_the_session(owner: Any) -> None:
    client = signed_in("owner@acme.test")
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get(KEYS).status_code == 302


def test_password_change_page_changes_the_password(owner: Any) -> None:
    client = signed_in("owner@acme.test")
    # The address before allauth still leads there.
    assert client.get("/accounts/password_change/")["Location"] == "/accounts/password/change/"
    assert b"Change Password" in client.get("/accounts/password/change/").content
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-much-longer-passphrase-42",
            "password2": "a-much-longer-passphrase-42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/change/"
    owner.refresh_from_db()
    assert owner.check_password("a-much-longer-passphrase-42")


def test_user_with_several_organisations_picks_one_and_sees_only_its_keys(org: Any, owner: Any) -> None:
    second = make_org("Bayside Clinic")
    membership_set(organization=second, user=owner, role=Role.VIEWER)
    make_key(org, name="Acme production")
    make_key(second, name="Bayside production")
    client = signed_in("owner@acme.test")

    response = client.get(KEYS)
    assert response.status_code == 302
    assert response["Location"] == "/settings/developer/organization/?next=%2Fsettings%2Fdeveloper%2Fkeys%2F"
    picker = client.get(response["Location"])
    assert b"Acme Dental" in picker.content and b"Bayside Clinic" in picker.content

    chosen = client.post("/settings/developer/organization/", {"organization": second.public_id, "next": KEYS})
    assert chosen.status_code == 302 and chosen["Location"] == KEYS
    assert client.session[SESSION_ORG_KEY] == second.pk
    page = client.get(KEYS).content.decode()
    assert "Bayside production" in page and "Acme production" not in page
    assert "Viewer" in page and "+ Create key" not in page  # the role is per organisation


def test_picker_refuses_an_organisation_the_user_does_not_belong_to(org: Any, owner: Any, other_org: Any) -> None:
    client = signed_in("owner@acme.test")
    response = client.post("/settings/developer/organization/", {"organization": other_org.public_id})
    assert response.status_code == 400
    assert client.session.get(SESSION_ORG_KEY) != other_org.pk


def test_picker_never_redirects_off_site(org: Any, owner: Any) -> None:
    client = signed_in("owner@acme.test")
    response = client.post(
        "/settings/developer/organization/", {"organization": org.public_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/settings/developer/"


def test_removed_membership_is_forgotten_from_the_session(org: Any, owner: Any) -> None:
    client = signed_in("owner@acme.test")
    assert client.get(KEYS).status_code == 200
    owner.memberships.all().delete()
    response = client.get(KEYS)
    assert response.status_code == 403
    assert b"not part of an organisation" in response.content


def test_layout_carries_csrf_token_in_hx_headers_and_loads_htmx_from_our_server(owner: Any) -> None:
    client = signed_in("owner@acme.test")
    html = client.get(KEYS).content.decode()
    match = re.search(r"<body hx-headers='([^']+)'", html)
    assert match is not None, "no hx-headers on <body>"
    headers = json.loads(match.group(1))
    assert len(headers["X-CSRFToken"]) >= 32
    assert re.search(r'<script src="/static/django_htmx/htmx-2[^"]*\.js"', html)
    assert "https://" not in re.sub(r"https://api\.aiphone360\.com[^\s\"<]*", "", html)  # no CDN anywhere
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html


def test_nav_lists_only_pages_that_exist(owner: Any) -> None:
    html = signed_in("owner@acme.test").get(KEYS).content.decode()
    nav = html[html.index('aria-label="Settings"') : html.index("</nav>", html.index('aria-label="Settings"'))]
    for item in NAV_ITEMS:
        try:
            url = reverse(item.url_name)
        except Exception:
            assert item.label not in nav
        else:
            assert f'href="{url}"' in nav
    assert 'href="/settings/developer/keys/" aria-current="page"' in nav


def test_viewer_nav_hides_the_audit_log(viewer: Any) -> None:
    html = signed_in("viewer@acme.test").get(KEYS).content.decode()
    assert "API keys" in html and "Request logs" in html
    assert "Audit log" not in html


def test_unknown_dashboard_page_is_a_styled_404(owner: Any) -> None:
    response = signed_in("owner@acme.test").get("/settings/developer/keys/key_doesnotexist/revoke/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


@pytest.mark.parametrize("path", ["/", "/settings/developer/"])
def test_root_and_home_lead_to_the_keys_page(owner: Any, path: str) -> None:
    response = signed_in("owner@acme.test").get(path, follow=True)
    assert response.redirect_chain[-1][0] == KEYS


def test_user_without_any_organisation_sees_what_to_do(db: Any) -> None:
    user_get_or_create(email="lonely@acme.test", password=PASSWORD)
    response = signed_in("lonely@acme.test").get(KEYS)
    assert response.status_code == 403
    assert b"Ask an owner of your business to add" in response.content
