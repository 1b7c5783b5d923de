"""Settings → Developer → API reference: the page, its navigation entry, and assets served by the app."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.staticfiles import finders
from django.test import Client

PASSWORD = "correct-horse-battery"
DOCS = "/settings/developer/docs/"
REDOC = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def test_anonymous_visitor_is_sent_to_the_login_page(db: Any) -> None:
    response = Client().get(DOCS)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={DOCS}"


def test_owner_sees_the_reference_wired_to_the_document_with_local_assets_only(owner: Any) -> None:
    response = signed_in("owner@acme.test").get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>API reference</h1>" in html
    assert 'data-spec-url="/api/public/v1/openapi.json"' in html
    assert f'src="/static/{REDOC}"' in html and 'src="/static/js/api-docs.js"' in html
    assert "http://testserver/api/public/v1" in html  # the base URL requests go to
    # Nothing is loaded from another origin: every src/href is a path on this server.
    external = [url for url in re.findall(r'(?:src|href)="([^"]+)"', html) if re.match(r"^(https?:)?//", url)]
    assert external == []
    for asset in (REDOC, "js/api-docs.js", "css/api-docs.css"):
        assert finders.find(asset), f"{asset} is not a static file of this app"


def test_viewers_can_read_the_reference_too(viewer: Any) -> None:
    response = signed_in("viewer@acme.test").get(DOCS)
    assert response.status_code == 200


def test_navigation_links_to_the_reference_and_marks_it_current(owner: Any) -> None:
    html = signed_in("owner@acme.test").get(DOCS).content.decode()
    assert f'<a href="{DOCS}" aria-current="page" class="active">API reference</a>' in html
    keys_page = signed_in("owner@acme.test").get("/settings/developer/keys/").content.decode()
    assert f'<a href="{DOCS}">API reference</a>' in keys_page


def test_the_document_it_renders_is_public_json(client: Any, db: Any) -> None:
    response = client.get("/api/public/v1/openapi.json")
    assert response.status_code == 200 and response.json()["info"]["title"] == "AI Phone 360 public API"
