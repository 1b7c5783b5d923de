"""The dashboard's side of the cross-mode matrix: every tools/agents/fields page that takes an id answers 404
for the other mode's object (as for another business's), reads and writes alike, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Membership, Organization
from agents.models import Agent, CustomTool, DataCollectionField
from agents.services import agent_create, data_field_create
from tests.conftest import make_org
from tests.webhooks.receiver import Receiver

from .conftest import make_tool

pytestmark = pytest.mark.django_db

BASE = "/settings/developer"


def _pages(tool: CustomTool, agent: Agent, field: DataCollectionField) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("get", f"{BASE}/tools/{tool.public_id}/", {}),
        ("post", f"{BASE}/tools/{tool.public_id}/", {"name": "renamed", "description": "x"}),
        ("post", f"{BASE}/tools/{tool.public_id}/test/", {"orderNumber": "A-100"}),
        ("get", f"{BASE}/tools/{tool.public_id}/delete/", {}),
        ("post", f"{BASE}/tools/{tool.public_id}/delete/", {}),
        ("post", f"{BASE}/tools/{tool.public_id}/copy-to-live/", {}),
        ("get", f"{BASE}/agents/{agent.public_id}/", {}),
        (
            "post",
            f"{BASE}/agents/{agent.public_id}/",
            {"agent_key": "renamed", "display_name": "R", "instructions": "R"},
        ),
        ("post", f"{BASE}/agents/{agent.public_id}/toggle/", {"action": "disable"}),
        ("get", f"{BASE}/agents/{agent.public_id}/delete/", {}),
        ("post", f"{BASE}/agents/{agent.public_id}/delete/", {}),
        ("post", f"{BASE}/agents/{agent.public_id}/copy-to-live/", {}),
        ("post", f"{BASE}/agents/fields/new/", {"agent": agent.public_id, "key": "k", "label": "K"}),
        ("post", f"{BASE}/agents/fields/{field.public_id}/delete/", {}),
        ("post", f"{BASE}/agents/fields/{field.public_id}/copy-to-live/", {}),
    ]


def _definitions(org: Organization, url: str, mode: str) -> tuple[CustomTool, Agent, DataCollectionField]:
    tool = make_tool(org, url, mode=mode)
    agent = agent_create(organization=org, actor=None, mode=mode, agent_key="desk", display_name="D", instructions="D.")
    field = data_field_create(organization=org, actor=None, mode=mode, key="email", label="Email")
    return tool, agent, field


@pytest.mark.parametrize("viewing", ["live", "test"])
def test_every_id_taking_page_is_a_404_for_the_other_mode_as_for_another_business(
    org: Organization, owner: Any, endpoint: Receiver, viewing: str
) -> None:
    other_mode = "test" if viewing == "live" else "live"
    theirs = _definitions(org, endpoint.url, other_mode)
    elsewhere = _definitions(make_org("Elsewhere"), endpoint.url, viewing)
    Membership.objects.filter(user=owner).update(viewing_mode=viewing)
    client = Client()
    client.force_login(owner)

    for (method, url, data), (_, foreign_url, _) in zip(_pages(*theirs), _pages(*elsewhere), strict=True):
        across_modes = getattr(client, method)(url, data)
        across_businesses = getattr(client, method)(foreign_url, data)
        assert across_modes.status_code == across_businesses.status_code == 404, (method, url)

    tool, agent, field = theirs
    for row in (tool, agent, field):
        row.refresh_from_db()
    assert tool.name == "lookup_order" and agent.agent_key == "desk" and agent.enabled and field.key == "email"
    assert endpoint.requests == []
    assert CustomTool.objects.count() == Agent.objects.count() == DataCollectionField.objects.count() == 2
