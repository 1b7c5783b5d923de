"""Copyable blocks (the pretty_json and header_lines filters, the shared copy button) and the API keys
page's Quickstart: this instance's address, a chosen test key, and a key created for it shown once."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client

from developer.keys import hash_secret
from developer.models import ApiKey
from developer.quickstart import PLACEHOLDER_KEY, quickstart_snippets
from developer.scopes import READ_ONLY_SCOPES
from developer.templatetags.code_blocks import header_lines, pretty_json
from tests.conftest import make_key, make_org

PASSWORD = "correct-horse-battery"
KEYS = "/settings/developer/keys/"
QUICKSTART = "/settings/developer/keys/quickstart/"
TEST_SECRET = re.compile(r"aip_test_[A-Za-z0-9_\-]{43}")


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def render(source: str, **context: Any) -> str:
    return Template("{% load code_blocks %}" + source).render(Context(context))


# --- filters and the copy button -------------------------------------------------------------------------


def test_pretty_json_indents_a_json_string_and_a_dict_and_keeps_non_ascii() -> None:
    assert pretty_json('{"a":1,"b":[true,null]}') == '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}'
    assert pretty_json({"name": "Zoë"}) == '{\n  "name": "Zoë"\n}'


def test_pretty_json_leaves_text_that_is_not_json_as_it_was() -> None:
    assert pretty_json("upstream timed out") == "upstream timed out"
    assert pretty_json('{"cut off at 4 KB": ') == '{"cut off at 4 KB": '
    assert pretty_json(None) == ""
    assert pretty_json(b'{"a":1}') == '{\n  "a": 1\n}'


def test_pretty_json_output_is_still_escaped_by_the_template() -> None:
    out = render("<pre>{{ body|pretty_json }}</pre>", body='{"note":"</pre><script>alert(1)</script>"}')
    assert "<script>" not in out
    assert "&lt;/pre&gt;&lt;script&gt;" in out
    assert json.loads(html.unescape(out[5:-6])) == {"note": "</pre><script>alert(1)</script>"}


def test_header_lines_writes_headers_as_they_travel() -> None:
    assert header_lines({"Content-Type": "application/json", "X-AIP-Signature": "t=1,v1=ab"}) == (
        "Content-Type: application/json\nX-AIP-Signature: t=1,v1=ab"
    )
    assert header_lines({}) == ""


def test_copy_button_names_its_target_and_its_label_and_is_hidden_without_javascript() -> None:
    out = render('{% copy_button "attempt" n "request-body" label="the request body" %}', n=2)
    assert 'data-copy="attempt-2-request-body"' in out
    assert 'aria-label="Copy the request body"' in out
    assert " hidden>" in out
    assert 'class="copy-status" role="status" aria-live="polite"' in out


def test_copy_button_label_is_escaped() -> None:
    out = render('{% copy_button "key-id" key_id label="the id of "|add:name %}', key_id="key_1", name='"><b>x')
    assert "<b>" not in out and "&quot;&gt;&lt;b&gt;x" in out


# --- snippets ---------------------------------------------------------------------------------------------


def test_snippets_aim_at_the_base_url_with_the_key_for_curl_node_and_python() -> None:
    snippets = {s.slug: s.text for s in quickstart_snippets(base_url="http://127.0.0.1:8000/api/public/v1", key="K")}
    assert snippets["curl"] == (
        'curl "http://127.0.0.1:8000/api/public/v1/calls?limit=5" \\\n  -H "Authorization: Bearer K"'
    )
    assert 'import { AiPhone360 } from "@aiphone360/sdk";' in snippets["node"]
    assert 'apiKey: "K",\n  baseUrl: "http://127.0.0.1:8000/api/public/v1",\n' in snippets["node"]
    assert 'api_key="K",\n    base_url="http://127.0.0.1:8000/api/public/v1",\n' in snippets["python"]
    compile(snippets["python"], "quickstart.py", "exec")  # valid Python


# --- the Quickstart on the API keys page ----------------------------------------------------------------


def quickstart_html(response: Any) -> str:
    body = response.content.decode()
    return body[body.index('id="quickstart"') : body.index("</section>", body.index('id="quickstart"'))]


@pytest.mark.django_db
def test_quickstart_uses_this_servers_address_not_the_production_one(owner: Any, org: Any) -> None:
    response = signed_in("owner@acme.test").get(KEYS, HTTP_HOST="localhost:8123")
    block = quickstart_html(response)
    assert "http://localhost:8123/api/public/v1/calls?limit=5" in block
    assert "api.aiphone360.com" not in response.content.decode()
    assert PLACEHOLDER_KEY in block
    assert "Create a test key for the quickstart" in block


@pytest.mark.django_db
def test_quickstart_offers_only_usable_test_keys_of_this_organisation_and_fills_the_chosen_ones_mask(
    owner: Any, org: Any
) -> None:
    make_key(org, mode="test", name="Staging")
    make_key(org, mode="test", name="CI")
    make_key(org, mode="live", name="Production")
    revoked = ApiKey.objects.get(name="CI")
    revoked.revoked_at = revoked.created_at
    revoked.save(update_fields=["revoked_at"])
    make_key(make_org("Other Business"), mode="test", name="Someone else's")
    staging = ApiKey.objects.get(name="Staging")

    block = quickstart_html(signed_in("owner@acme.test").get(KEYS, {"quickstart_key": staging.public_id}))
    options = re.findall(r"<option value=\"([^\"]+)\"", block)
    assert options == [staging.public_id]
    assert f"Bearer {staging.masked}" in html.unescape(block)
    assert "Replace" in block and "stored hashed" in block


@pytest.mark.django_db
def test_a_key_id_of_another_organisation_is_ignored(owner: Any, org: Any) -> None:
    make_key(make_org("Other Business"), mode="test", name="Theirs")
    theirs = ApiKey.objects.get(name="Theirs")
    block = quickstart_html(signed_in("owner@acme.test").get(KEYS, {"quickstart_key": theirs.public_id}))
    assert theirs.masked not in block and PLACEHOLDER_KEY in block


@pytest.mark.django_db
def test_create_for_the_quickstart_makes_a_read_only_test_key_shown_once_in_the_snippets(owner: Any, org: Any) -> None:
    client = signed_in("owner@acme.test")
    token = re.search(r'name="form_token" value="([^"]+)"', quickstart_html(client.get(KEYS))).group(1)  # type: ignore[union-attr]
    response = client.post(QUICKSTART, {"form_token": token})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    block = quickstart_html(response)
    secrets = set(TEST_SECRET.findall(block))
    assert len(secrets) == 1
    secret = secrets.pop()
    key = ApiKey.objects.get(organization=org, key_hash=hash_secret(secret))
    assert key.name == "Quickstart" and key.mode == "test" and sorted(key.scopes) == sorted(READ_ONLY_SCOPES)
    assert key.expires_at is not None
    assert "will not be shown again" in block

    # The next visit shows the mask only; a re-post of the same form creates nothing.
    assert secret not in client.get(KEYS).content.decode()
    again = client.post(QUICKSTART, {"form_token": token})
    assert again.status_code == 302
    assert ApiKey.objects.filter(organization=org).count() == 1


@pytest.mark.django_db
def test_viewers_cannot_create_a_quickstart_key(viewer: Any, org: Any) -> None:
    client = signed_in("viewer@acme.test")
    assert "Create a test key for the quickstart" not in quickstart_html(client.get(KEYS))
    assert client.post(QUICKSTART, {"form_token": "x"}).status_code == 403
    assert not ApiKey.objects.filter(organization=org).exists()


def test_a_masked_key_reads_as_itself_in_every_snippet() -> None:
    for snippet in quickstart_snippets(base_url="http://x/api/public/v1", key="aip_test_…6a3k"):
        assert "aip_test_…6a3k" in snippet.text and "\\u2026" not in snippet.text


@pytest.mark.django_db
def test_the_empty_request_log_shows_this_servers_address(owner: Any, org: Any) -> None:
    html = signed_in("owner@acme.test").get("/settings/developer/logs/", HTTP_HOST="localhost:8123").content.decode()
    assert 'curl "http://localhost:8123/api/public/v1/calls?limit=5"' in html
    assert "api.aiphone360.com" not in html
