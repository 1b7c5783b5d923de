"""Copy to live (dashboard): a tool, a data field or an agent built in test mode goes live without retyping.

Owners and admins only, audited, references remapped by name (an agent's tools to the live tools of the
same name, copied when missing; a field's agent to the live agent of the same key, which must exist),
and a live object of the same name is never overwritten: a clear message, never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEntry, Organization
from agents.models import Agent, CustomTool, DataCollectionField
from agents.services import agent_create, data_field_create, tool_copy_to_live
from core.errors import ServiceError
from phone.models import KnowledgeBase
from tests.webhooks.receiver import Receiver

from .conftest import TOKEN, make_tool

pytestmark = pytest.mark.django_db

BASE = "/settings/developer"


def _client(user: Any, mode: str = "test") -> Client:
    client = Client()
    client.force_login(user)
    assert client.post(f"{BASE}/viewing-mode/", {"mode": mode}).status_code == 302
    return client


def _flash(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def test_a_viewer_cannot_copy_and_nothing_is_created(org: Organization, viewer: Any, endpoint: Receiver) -> None:
    tool = make_tool(org, endpoint.url, mode="test")
    agent = agent_create(organization=org, actor=None, mode="test", agent_key="a", display_name="A", instructions="A.")
    field = data_field_create(organization=org, actor=None, mode="test", key="email", label="Email")
    client = _client(viewer)
    for url in (
        f"{BASE}/tools/{tool.public_id}/copy-to-live/",
        f"{BASE}/agents/{agent.public_id}/copy-to-live/",
        f"{BASE}/agents/fields/{field.public_id}/copy-to-live/",
    ):
        assert client.post(url).status_code == 403, url
    assert not CustomTool.objects.filter(mode="live").exists() and not Agent.objects.filter(mode="live").exists()
    assert not DataCollectionField.objects.filter(mode="live").exists()


def test_an_owner_copies_a_tool_with_its_credentials_and_the_copy_is_audited(
    org: Organization, owner: Any, endpoint: Receiver
) -> None:
    tool = make_tool(org, endpoint.url, mode="test", timeout_seconds=4, enabled=False)
    client = _client(owner)

    response = client.post(f"{BASE}/tools/{tool.public_id}/copy-to-live/")
    assert response.status_code == 302 and response["Location"] == f"{BASE}/tools/{tool.public_id}/"
    assert "Copied the tool lookup_order to live." in _flash(client, response["Location"])

    live = CustomTool.objects.get(organization=org, mode="live")
    assert live.public_id != tool.public_id
    assert (live.name, live.description, live.input_schema, live.endpoint_url) == (
        tool.name,
        tool.description,
        tool.input_schema,
        tool.endpoint_url,
    )
    assert (live.timeout_seconds, live.enabled, live.auth_type, live.auth_secret) == (4, False, "bearer", TOKEN)
    audit = AuditEntry.objects.get(action="tool.copied_to_live")
    assert audit.actor_user == owner and audit.target_id == live.public_id
    assert audit.metadata == {"from": tool.public_id, "name": "lookup_order"}
    assert TOKEN not in str(audit.metadata)
    # The test tool is untouched and still test.
    tool.refresh_from_db()
    assert tool.mode == "test"


def test_a_name_clash_in_live_is_a_clear_message_and_nothing_changes(
    org: Organization, owner: Any, endpoint: Receiver
) -> None:
    tool = make_tool(org, endpoint.url, mode="test")
    existing = make_tool(org, "https://tools.example.com/live", description="The live one.")
    client = _client(owner)

    response = client.post(f"{BASE}/tools/{tool.public_id}/copy-to-live/", follow=True)
    assert response.status_code == 200
    assert "Could not copy lookup_order to live: A live tool named lookup_order already exists" in (
        response.content.decode()
    )
    existing.refresh_from_db()
    assert existing.description == "The live one." and CustomTool.objects.filter(mode="live").count() == 1
    assert not AuditEntry.objects.filter(action="tool.copied_to_live").exists()


def test_only_a_test_object_can_be_copied_and_the_live_one_is_not_reachable_from_test_view(
    org: Organization, owner: Any, endpoint: Receiver
) -> None:
    live = make_tool(org, endpoint.url)
    with pytest.raises(ServiceError, match="already live"):
        tool_copy_to_live(tool=live, actor=None)
    # Viewing test data, a live id is unknown, as another business's would be.
    assert _client(owner).post(f"{BASE}/tools/{live.public_id}/copy-to-live/").status_code == 404


def test_copying_an_agent_remaps_its_tools_by_name_copies_missing_ones_and_takes_its_fields(
    org: Organization, owner: Any, endpoint: Receiver
) -> None:
    kb = KnowledgeBase.objects.create(organization=org, name="Policies")
    lookup = make_tool(org, endpoint.url, mode="test")
    refund = make_tool(org, endpoint.url, mode="test", name="issue_refund")
    live_lookup = make_tool(org, "https://tools.example.com/live-lookup")  # same name already live: reused
    agent = agent_create(
        organization=org,
        actor=None,
        mode="test",
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["bill", "refund"],
        tools={"useCustomToolIds": [lookup.public_id, refund.public_id], "allowPayments": True},
        knowledge_base_ids=[kb.public_id],
        is_default=True,
    )
    data_field_create(
        organization=org, actor=None, mode="test", key="invoice", label="Invoice", agent_id=agent.public_id
    )
    data_field_create(
        organization=org,
        actor=None,
        mode="test",
        key="plan",
        label="Plan",
        type="choice",
        choices=["Basic", "Pro"],
        agent_id=agent.public_id,
    )
    client = _client(owner)

    response = client.post(f"{BASE}/agents/{agent.public_id}/copy-to-live/", follow=True)
    page = response.content.decode()
    assert (
        "Copied the agent Billing to live with its tools issue_refund (copied too) using the live tools lookup_order"
        in page
    )

    live = Agent.objects.get(organization=org, mode="live")
    assert (live.agent_key, live.display_name, live.instructions, live.match_hints) == (
        "billing",
        "Billing",
        "Bills.",
        ["bill", "refund"],
    )
    assert live.allow_payments and not live.is_default  # never silently the live greeter
    live_tools = {t.name: t for t in live.custom_tools.all()}
    assert set(live_tools) == {"lookup_order", "issue_refund"}
    assert live_tools["lookup_order"].pk == live_lookup.pk
    assert all(t.mode == "live" for t in live_tools.values())
    assert list(live.knowledge_bases.all()) == [kb]
    fields = {f.key: f for f in DataCollectionField.objects.filter(mode="live")}
    assert set(fields) == {"invoice", "plan"} and all(f.agent_id == live.pk for f in fields.values())
    assert fields["plan"].choices == ["Basic", "Pro"]

    audit = AuditEntry.objects.get(action="agent.copied_to_live")
    assert audit.actor_user == owner and audit.target_id == live.public_id
    assert audit.metadata["from"] == agent.public_id
    assert audit.metadata["toolsCopied"] == ["issue_refund"] and audit.metadata["toolsReused"] == ["lookup_order"]
    assert sorted(audit.metadata["fields"]) == ["invoice", "plan"]
    assert AuditEntry.objects.filter(action="tool.copied_to_live").count() == 1
    assert AuditEntry.objects.filter(action="data_field.copied_to_live").count() == 2

    # Copying it again: the key is taken in live; the message says so and nothing is duplicated.
    again = client.post(f"{BASE}/agents/{agent.public_id}/copy-to-live/", follow=True).content.decode()
    assert "A live agent with key billing already exists" in again
    assert Agent.objects.filter(mode="live").count() == 1 and CustomTool.objects.filter(mode="live").count() == 2


def test_an_agent_copy_with_a_clashing_field_copies_nothing(org: Organization, owner: Any, endpoint: Receiver) -> None:
    tool = make_tool(org, endpoint.url, mode="test")
    agent = agent_create(
        organization=org,
        actor=None,
        mode="test",
        agent_key="orders",
        display_name="Orders",
        instructions="Orders.",
        tools={"useCustomToolIds": [tool.public_id]},
    )
    data_field_create(organization=org, actor=None, mode="test", key="email", label="Email", agent_id=agent.public_id)
    data_field_create(organization=org, actor=None, key="email", label="Email (live)")

    page = _client(owner).post(f"{BASE}/agents/{agent.public_id}/copy-to-live/", follow=True).content.decode()
    assert "Live fields with the key(s) email already exist" in page
    assert not Agent.objects.filter(mode="live").exists() and not CustomTool.objects.filter(mode="live").exists()


def test_a_field_goes_to_the_live_agent_of_the_same_key_which_must_exist(org: Organization, owner: Any) -> None:
    agent = agent_create(
        organization=org, actor=None, mode="test", agent_key="support", display_name="Support", instructions="S."
    )
    field = data_field_create(
        organization=org, actor=None, mode="test", key="serial", label="Serial", agent_id=agent.public_id
    )
    shared = data_field_create(organization=org, actor=None, mode="test", key="email", label="Email")
    client = _client(owner)

    refused = client.post(f"{BASE}/agents/fields/{field.public_id}/copy-to-live/", follow=True).content.decode()
    assert "belongs to the agent support, which has no live copy yet" in refused
    assert not DataCollectionField.objects.filter(mode="live").exists()

    live_support = agent_create(
        organization=org, actor=None, agent_key="support", display_name="Support", instructions="S."
    )
    client.post(f"{BASE}/agents/fields/{field.public_id}/copy-to-live/")
    client.post(f"{BASE}/agents/fields/{shared.public_id}/copy-to-live/")
    copies = {f.key: f for f in DataCollectionField.objects.filter(mode="live")}
    assert copies["serial"].agent_id == live_support.pk and copies["email"].agent_id is None
    assert AuditEntry.objects.filter(action="data_field.copied_to_live", actor_user=owner).count() == 2

    clash = client.post(f"{BASE}/agents/fields/{shared.public_id}/copy-to-live/", follow=True).content.decode()
    assert "A live field with key email already exists" in clash


def test_a_copy_the_live_create_refuses_is_a_message_naming_the_field_not_a_500(
    org: Organization, owner: Any, endpoint: Receiver
) -> None:
    tool = make_tool(org, endpoint.url, mode="test")
    # Stored before the outbound policy refused private addresses, say: the live create checks it again.
    CustomTool.objects.filter(pk=tool.pk).update(endpoint_url="https://10.0.0.8/orders")
    response = _client(owner).post(f"{BASE}/tools/{tool.public_id}/copy-to-live/", follow=True)
    assert response.status_code == 200
    assert "Could not copy lookup_order to live: endpointUrl:" in response.content.decode()
    assert not CustomTool.objects.filter(mode="live").exists()
