"""The dashboard's "Viewing test data" switch: a CSRF-protected POST, remembered per person, an unmistakable
banner on every dashboard page while it is on, and the lists of tools, agents, data fields and request logs
following it (what the dashboard creates is created in the viewed mode)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Membership, Organization, Role
from accounts.services import membership_set, user_get_or_create
from agents.models import Agent, CustomTool, DataCollectionField
from agents.services import agent_create, data_field_create, tool_create
from developer.nav import NAV_ITEMS
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

SWITCH = "/settings/developer/viewing-mode/"
BANNER = 'data-testid="test-data-banner"'
PASSWORD = "correct-horse-battery"


def _signed_in(email: str, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=email, password=PASSWORD)
    return client


def _tool(org: Organization, name: str, mode: str) -> CustomTool:
    return tool_create(
        organization=org,
        actor=None,
        mode=mode,
        name=name,
        description="d",
        input_schema={"type": "object", "properties": {}},
        endpoint_url="https://tools.example.com/x",
    )


def test_the_switch_is_a_csrf_protected_post_that_is_remembered_per_person(org: Organization, owner: Any) -> None:
    colleague = user_get_or_create(email="admin@acme.test", password=PASSWORD)
    membership_set(organization=org, user=colleague, role=Role.ADMIN)

    strict = _signed_in("owner@acme.test", csrf=True)
    assert strict.post(SWITCH, {"mode": "test"}).status_code == 403  # no CSRF token
    assert strict.get(SWITCH).status_code == 405
    page = strict.get("/settings/developer/tools/").content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    token = found.group(1)
    response = strict.post(SWITCH, {"mode": "test", "next": "/settings/developer/tools/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/settings/developer/tools/"
    assert Membership.objects.get(user=owner).viewing_mode == "test"

    # A new session of the same person still views test data; a colleague still views live data.
    assert BANNER in _signed_in("owner@acme.test").get("/settings/developer/keys/").content.decode()
    assert BANNER not in _signed_in("admin@acme.test").get("/settings/developer/keys/").content.decode()
    assert Membership.objects.get(user=colleague).viewing_mode == "live"


def test_a_bad_mode_or_a_foreign_next_url_is_refused_or_ignored(owner: Any) -> None:
    client = _signed_in("owner@acme.test")
    assert client.post(SWITCH, {"mode": "sandbox"}).status_code == 400
    assert Membership.objects.get(user=owner).viewing_mode == "live"
    response = client.post(SWITCH, {"mode": "test", "next": "https://evil.example.com/"})
    assert response["Location"] == "/settings/developer/"


def test_viewers_may_switch_too_it_only_changes_what_they_see(viewer: Any) -> None:
    client = _signed_in("viewer@acme.test")
    assert client.post(SWITCH, {"mode": "test"}).status_code == 302
    assert Membership.objects.get(user=viewer).viewing_mode == "test"


def test_the_banner_is_on_every_dashboard_page_while_test_data_is_viewed_and_on_none_otherwise(owner: Any) -> None:
    from django.urls import NoReverseMatch, reverse

    client = _signed_in("owner@acme.test")
    urls = []
    for item in NAV_ITEMS:
        try:
            urls.append(reverse(item.url_name))
        except NoReverseMatch:
            continue
    urls += ["/settings/developer/tools/invocations/", "/settings/developer/tools/new/"]
    for url in urls:
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert BANNER not in html, url
        assert 'role="switch" aria-checked="false"' in html, url
    client.post(SWITCH, {"mode": "test"})
    for url in urls:
        html = client.get(url).content.decode()
        assert BANNER in html and "You are viewing test data" in html, url
        assert 'role="switch" aria-checked="true"' in html, url


def test_tools_agents_and_fields_lists_follow_the_switch_and_creation_uses_it(org: Organization, owner: Any) -> None:
    _tool(org, "live_tool", "live")
    _tool(org, "sandbox_tool", "test")
    agent_create(
        organization=org,
        actor=None,
        agent_key="live-agent",
        display_name="Live agent",
        instructions="L.",
        match_hints=["refund"],
    )
    agent_create(
        organization=org,
        actor=None,
        mode="test",
        agent_key="test-agent",
        display_name="Sandbox agent",
        instructions="T.",
        match_hints=["refund"],
    )
    data_field_create(organization=org, actor=None, key="live_field", label="Live field")
    data_field_create(organization=org, actor=None, mode="test", key="sandbox_field", label="Sandbox field")
    client = _signed_in("owner@acme.test")

    tools = client.get("/settings/developer/tools/").content.decode()
    agents = client.get("/settings/developer/agents/").content.decode()
    assert "live_tool" in tools and "sandbox_tool" not in tools
    assert "Live agent" in agents and "Sandbox agent" not in agents
    assert "Live field" in agents and "Sandbox field" not in agents
    sandbox = CustomTool.objects.get(name="sandbox_tool")
    assert client.get(f"/settings/developer/tools/{sandbox.public_id}/").status_code == 404

    client.post(SWITCH, {"mode": "test"})
    tools = client.get("/settings/developer/tools/").content.decode()
    agents = client.get("/settings/developer/agents/").content.decode()
    assert "sandbox_tool" in tools and "live_tool" not in tools
    assert "Sandbox agent" in agents and "Live agent" not in agents
    assert "Sandbox field" in agents and "Live field" not in agents
    assert client.get(f"/settings/developer/tools/{sandbox.public_id}/").status_code == 200

    # What the dashboard creates while test data is viewed is test data.
    client.post(
        "/settings/developer/agents/new/",
        {"agent_key": "made-here", "display_name": "Made here", "instructions": "Made.", "enabled": "on"},
    )
    client.post("/settings/developer/agents/fields/new/", {"key": "made_here", "label": "Made here", "type": "text"})
    assert Agent.objects.get(agent_key="made-here").mode == "test"
    assert DataCollectionField.objects.get(key="made_here").mode == "test"
    # Try routing reads the viewed mode's agents.
    routed = client.post(
        "/settings/developer/agents/route/", {"text": "a refund please"}, headers={"HX-Request": "true"}
    )
    assert "Sandbox agent" in routed.content.decode() and "Live agent" not in routed.content.decode()


def test_request_logs_follow_the_switch(org: Organization, owner: Any, live_key: str, test_key: str) -> None:
    from developer.public_api.request_log import flush

    ApiClient(live_key).get("/keys")
    ApiClient(test_key).get("/calls?limit=1")
    flush()
    client = _signed_in("owner@acme.test")
    live = client.get("/settings/developer/logs/").content.decode()
    assert "/api/public/v1/keys" in live and "/api/public/v1/calls" not in live
    client.post(SWITCH, {"mode": "test"})
    test = client.get("/settings/developer/logs/").content.decode()
    assert "/api/public/v1/calls" in test and "/api/public/v1/keys" not in test


def test_switching_on_an_object_page_lands_on_its_sections_list(org: Organization, owner: Any) -> None:
    tool = _tool(org, "sandbox_tool", "test")
    client = _signed_in("owner@acme.test")
    client.post(SWITCH, {"mode": "test"})
    response = client.post(SWITCH, {"mode": "live", "next": f"/settings/developer/tools/{tool.public_id}/"})
    assert response["Location"] == "/settings/developer/tools/"
    response = client.post(SWITCH, {"mode": "test", "next": "/settings/developer/tools/invocations/"})
    assert response["Location"] == "/settings/developer/tools/invocations/"


def test_a_webhook_endpoints_delivery_log_follows_the_switch(org: Organization, owner: Any) -> None:
    from webhooks.events import emit
    from webhooks.models import Delivery
    from webhooks.services import endpoint_create

    endpoint, _ = endpoint_create(organization=org, url="https://hooks.example.com/in", events=["*"], actor=None)
    live_event = emit(organization=org, type="contact.created", data={"id": "c_live"}, mode="live")
    test_event = emit(organization=org, type="contact.created", data={"id": "c_test"}, mode="test")
    live_delivery = Delivery.objects.get(event=live_event)
    test_delivery = Delivery.objects.get(event=test_event)
    client = _signed_in("owner@acme.test")
    detail = f"/settings/developer/webhooks/{endpoint.public_id}/"

    live = client.get(detail).content.decode()
    assert f'data-delivery="{live_delivery.public_id}"' in live
    assert f'data-delivery="{test_delivery.public_id}"' not in live
    client.post(SWITCH, {"mode": "test"})
    test = client.get(detail).content.decode()
    assert f'data-delivery="{test_delivery.public_id}"' in test
    assert f'data-delivery="{live_delivery.public_id}"' not in test
