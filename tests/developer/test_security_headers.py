"""Security headers on every response: dashboard pages, admin, the public API's JSON and the API
reference page (whose Redoc needs inline styles, and gets them there only)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from core.headers import extend_policy, policy_header
from tests.conftest import ApiClient

PASSWORD = "correct-horse-battery"

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
RESOURCE_POLICY = "default-src 'none'; frame-ancestors 'none'"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_common_headers(response: Any) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/settings/developer/keys/",
        "/settings/developer/webhooks/",
        "/settings/developer/tools/",
        "/settings/developer/usage/",
        "/settings/developer/logs/",
    ],
)
def test_dashboard_pages_carry_the_strict_policy_and_every_security_header(owner: Any, path: str) -> None:
    response = signed_in("owner@acme.test").get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert_common_headers(response)


def test_page_policy_allows_no_inline_script_style_or_eval_and_no_framing(owner: Any) -> None:
    policy = directives(signed_in("owner@acme.test").get("/settings/developer/keys/")["Content-Security-Policy"])
    for name in ("default-src", "script-src", "style-src"):
        assert policy[name] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


def test_htmx_partials_and_the_login_page_carry_the_policy(owner: Any) -> None:
    partial = signed_in("owner@acme.test").get("/settings/developer/keys/", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert partial["Content-Security-Policy"] == PAGE_POLICY
    login = Client().get("/accounts/login/")
    assert login["Content-Security-Policy"] == PAGE_POLICY
    assert_common_headers(login)


def test_dashboard_pages_have_no_inline_script_or_style(owner: Any) -> None:
    html = signed_in("owner@acme.test").get("/settings/developer/keys/").content.decode()
    assert "style=" not in html
    assert "<style" not in html
    assert "<script>" not in html
    assert '"includeIndicatorStyles": false' in html  # htmx must not inject its own <style>


def test_admin_login_carries_the_strict_policy(db: Any) -> None:
    response = Client().get("/admin/login/", follow=True)  # the admin signs in through allauth's page
    assert response.redirect_chain[-1][0].startswith("/accounts/login/") and response.status_code == 200
    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert_common_headers(response)


def test_admin_change_list_carries_the_strict_policy(db: Any, django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("staff@acme.test", "staff@acme.test", PASSWORD)
    response = signed_in("staff@acme.test").get("/admin/auth/user/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert b"<style" not in response.content


def test_api_json_responses_refuse_everything_and_framing(api: ApiClient) -> None:
    response = api.get("/calls")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Security-Policy"] == RESOURCE_POLICY
    assert_common_headers(response)


def test_api_errors_and_the_openapi_document_carry_the_headers(db: Any) -> None:
    unauthenticated = ApiClient().get("/calls")
    assert unauthenticated.status_code == 401
    assert unauthenticated["Content-Security-Policy"] == RESOURCE_POLICY
    assert_common_headers(unauthenticated)
    unknown = ApiClient().get("/no-such-route")
    assert unknown.status_code in (401, 404)
    assert unknown["Content-Security-Policy"] == RESOURCE_POLICY
    document = Client().get("/api/public/v1/openapi.json")
    assert document.status_code == 200
    assert document["Content-Security-Policy"] == RESOURCE_POLICY
    assert document["X-Content-Type-Options"] == "nosniff"


def test_api_reference_page_keeps_its_own_policy_for_redoc(owner: Any) -> None:
    response = signed_in("owner@acme.test").get("/settings/developer/docs/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]  # Redoc runs from our static files, nothing inline
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # Redoc's styled-components
    assert policy["font-src"] == ["'self'", "data:"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["img-src"] == ["'self'", "data:"]  # Redoc's logo from its CDN stays refused
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert_common_headers(response)


def test_anonymous_api_reference_redirect_carries_the_page_policy(db: Any) -> None:
    response = Client().get("/settings/developer/docs/")
    assert response.status_code == 302
    assert "Content-Security-Policy" in response


def test_extend_policy_adds_sources_once_and_new_directives_last() -> None:
    base = {"default-src": ["'self'"], "style-src": ["'self'"]}
    merged = extend_policy(base, {"style-src": ["'self'", "'unsafe-inline'"], "worker-src": ["blob:"]})
    assert policy_header(merged) == "default-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:"
    assert base["style-src"] == ["'self'"]  # the base policy is not modified


def test_error_pages_carry_the_policy_but_debug_technical_pages_do_not(owner: Any) -> None:
    client = signed_in("owner@acme.test")
    not_found = client.get("/settings/developer/no-such-page/")
    assert not_found.status_code == 404
    assert not_found["Content-Security-Policy"] == PAGE_POLICY
    with override_settings(DEBUG=True):  # Django's technical 404 page uses inline script and style
        technical = client.get("/settings/developer/no-such-page/")
    assert technical.status_code == 404
    assert "Content-Security-Policy" not in technical
    assert_common_headers(technical)
