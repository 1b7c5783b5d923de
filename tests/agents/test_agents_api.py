"""Agents and data-collection fields (manage:agents): the spec's body, ownership, one default greeter."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEntry, Organization
from agents.models import Agent, DataCollectionField
from phone.models import KnowledgeBase
from tests.conftest import ApiClient, make_key

from .conftest import make_tool

pytestmark = pytest.mark.django_db

SPEC_EXAMPLE = {
    "agentKey": "billing",
    "displayName": "Billing",
    "instructions": "You handle billing. Collect the invoice number and offer a secure payment link.",
    "matchHints": ["bill", "invoice", "refund"],
    "tools": {"allowPayments": True},
}


def agent(api: ApiClient, key: str, **extra: Any) -> dict[str, Any]:
    response = api.post(
        "/agents", {"agentKey": key, "displayName": key.title(), "instructions": f"You do {key}.", **extra}
    )
    assert response.status_code == 201, response.body
    return response.body["data"]


def test_the_docs_example_creates_a_billing_specialist(api: ApiClient) -> None:
    response = api.post("/agents", SPEC_EXAMPLE)
    assert response.status_code == 201, response.body
    data = response.body["data"]
    assert data["id"].startswith("agt_")
    assert {k: data[k] for k in ("agentKey", "displayName", "instructions", "matchHints")} == {
        k: SPEC_EXAMPLE[k] for k in ("agentKey", "displayName", "instructions", "matchHints")
    }
    assert data["tools"] == {
        "useCustomToolIds": [],
        "allowPayments": True,
        "allowBooking": False,
        "allowTransfer": False,
        "allowKnowledgeSearch": True,
    }
    assert data["knowledgeBaseIds"] == [] and data["isDefault"] is False and data["enabled"] is True
    assert "No agent is marked as the default greeter" in response.body["message"]
    assert AuditEntry.objects.filter(action="agent.created", target_id=data["id"]).exists()


def test_get_patch_list_and_delete(api: ApiClient) -> None:
    billing = agent(api, "billing", matchHints=["bill"])
    assert api.get(f"/agents/{billing['id']}").body["data"] == billing
    patched = api.patch(
        f"/agents/{billing['id']}",
        {"tools": {"allowBooking": True}, "matchHints": ["Bills", "bill", "refund  request"]},
    )
    assert patched.status_code == 200
    tools = patched.body["data"]["tools"]
    assert tools["allowBooking"] is True and tools["allowPayments"] is False  # a partial tools object merges
    assert patched.body["data"]["matchHints"] == ["Bills", "refund request"]  # same words after normalising: once
    assert api.get("/agents").body["data"][0]["id"] == billing["id"]
    assert api.delete(f"/agents/{billing['id']}").body["data"] == {"id": billing["id"], "deleted": True}
    assert not Agent.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"agentKey": "Billing"}, "agentKey"),
        ({"agentKey": "bill ing"}, "agentKey"),
        ({"displayName": ""}, "displayName"),
        ({"instructions": None}, "instructions"),
        ({"matchHints": "bill"}, "matchHints"),
        ({"matchHints": ["ok", "!!!"]}, "matchHints[1]"),
        ({"tools": {"allowPayments": "yes"}}, "tools.allowPayments"),
        ({"tools": {"allowMagic": True}}, "tools.allowMagic"),
        ({"tools": {"useCustomToolIds": "tool_x"}}, "tools.useCustomToolIds"),
        ({"knowledgeBaseIds": [1]}, "knowledgeBaseIds"),
        ({"isDefault": 1}, "isDefault"),
        ({"greeting": "hi"}, "greeting"),
    ],
)
def test_bad_agent_input_is_a_400_naming_the_field(api: ApiClient, payload: dict[str, Any], field: str) -> None:
    response = api.post("/agents", {**SPEC_EXAMPLE, **payload})
    assert response.status_code == 400 and field in response.body["error"]["fields"], response.body
    assert not Agent.objects.exists()


def test_tool_and_knowledge_base_ids_must_belong_to_the_business(
    api: ApiClient, org: Organization, other_org: Organization
) -> None:
    mine = make_tool(org, "https://tools.example.com/a")
    theirs = make_tool(other_org, "https://tools.example.com/b")
    my_kb = KnowledgeBase.objects.create(organization=org, name="Products")
    their_kb = KnowledgeBase.objects.create(organization=other_org, name="Secret stuff")

    response = api.post(
        "/agents",
        {
            **SPEC_EXAMPLE,
            "tools": {"useCustomToolIds": [mine.public_id, theirs.public_id]},
            "knowledgeBaseIds": [their_kb.public_id, "kb_doesnotexist"],
        },
    )
    assert response.status_code == 400
    fields = response.body["error"]["fields"]
    assert fields["tools.useCustomToolIds[1]"] == [
        f"No custom tool with id '{theirs.public_id}' exists in this business."
    ]
    assert fields["knowledgeBaseIds[0]"] == [
        f"No knowledge base with id '{their_kb.public_id}' exists in this business."
    ]
    assert "knowledgeBaseIds[1]" in fields and "tools.useCustomToolIds[0]" not in fields
    assert not Agent.objects.exists()

    ok = api.post(
        "/agents",
        {**SPEC_EXAMPLE, "tools": {"useCustomToolIds": [mine.public_id]}, "knowledgeBaseIds": [my_kb.public_id]},
    )
    assert ok.status_code == 201
    assert ok.body["data"]["tools"]["useCustomToolIds"] == [mine.public_id]
    assert ok.body["data"]["knowledgeBaseIds"] == [my_kb.public_id]

    cleared = api.patch(f"/agents/{ok.body['data']['id']}", {"tools": {"useCustomToolIds": []}, "knowledgeBaseIds": []})
    assert cleared.body["data"]["tools"]["useCustomToolIds"] == [] and cleared.body["data"]["knowledgeBaseIds"] == []


def test_agent_keys_are_unique_per_business(api: ApiClient, other_org: Organization) -> None:
    agent(api, "billing")
    duplicate = api.post("/agents", SPEC_EXAMPLE)
    assert duplicate.status_code == 400 and "agentKey" in duplicate.body["error"]["fields"]
    assert ApiClient(make_key(other_org)).post("/agents", SPEC_EXAMPLE).status_code == 201


def test_making_an_agent_default_unsets_the_previous_default(api: ApiClient) -> None:
    desk = agent(api, "desk", isDefault=True)
    billing = agent(api, "billing")
    assert api.get("/agents").body["message"] == "Desk greets every call and hands off to specialists."

    switched = api.patch(f"/agents/{billing['id']}", {"isDefault": True})
    assert switched.body["data"]["isDefault"] is True
    assert api.get(f"/agents/{desk['id']}").body["data"]["isDefault"] is False
    assert Agent.objects.filter(is_default=True).count() == 1
    change = AuditEntry.objects.get(action="agent.default_changed", target_id=billing["id"])
    assert change.metadata == {"previous": desk["id"]}

    created_default = agent(api, "front", isDefault=True)
    assert list(Agent.objects.filter(is_default=True).values_list("public_id", flat=True)) == [created_default["id"]]


def test_the_greeter_fallback_is_stated_when_the_default_is_missing_or_disabled(api: ApiClient) -> None:
    assert "built-in AI agent handles every call" in api.get("/agents").body["message"]
    desk = agent(api, "desk", isDefault=True)
    disabled = api.patch(f"/agents/{desk['id']}", {"enabled": False})
    assert disabled.status_code == 200
    assert (
        "The default agent “Desk” is disabled, so the built-in AI agent greets every call" in disabled.body["message"]
    )
    assert "is disabled" in api.get("/agents").body["message"]
    api.patch(f"/agents/{desk['id']}", {"isDefault": False, "enabled": True})
    assert "No agent is marked as the default greeter" in api.get("/agents").body["message"]


def test_another_business_agent_is_a_404_and_the_scope_is_required(
    api: ApiClient, org: Organization, other_org: Organization
) -> None:
    foreign = agent(ApiClient(make_key(other_org)), "billing")
    assert api.get(f"/agents/{foreign['id']}").status_code == 404
    assert api.patch(f"/agents/{foreign['id']}", {"enabled": False}).status_code == 404
    assert api.delete(f"/agents/{foreign['id']}").status_code == 404
    assert api.get("/agents").body["data"] == []
    narrow = ApiClient(make_key(org, scopes=["manage:tools"]))
    assert narrow.get("/agents").status_code == 403 and narrow.get("/data-fields").status_code == 403


# --- data-collection fields ---------------------------------------------------------------------------


def test_data_fields_crud_with_an_agent_and_choices(api: ApiClient) -> None:
    billing = agent(api, "billing")
    created = api.post(
        "/data-fields",
        {
            "key": "invoice_number",
            "label": "Invoice number",
            "type": "text",
            "required": True,
            "agentId": billing["id"],
        },
    )
    assert created.status_code == 201, created.body
    data = created.body["data"]
    assert data["id"].startswith("fld_") and data["agentId"] == billing["id"] and data["choices"] == []
    everyone = api.post(
        "/data-fields",
        {
            "key": "reason",
            "label": "Reason for calling",
            "type": "choice",
            "choices": ["Billing", "Support", "Billing"],
        },
    ).body["data"]
    assert (
        everyone["choices"] == ["Billing", "Support"] and everyone["agentId"] is None and everyone["required"] is False
    )

    assert [f["key"] for f in api.get(f"/data-fields?agentId={billing['id']}").body["data"]] == ["invoice_number"]
    assert len(api.get("/data-fields").body["data"]) == 2
    assert api.get("/data-fields?agentId=agt_nope").status_code == 400

    patched = api.patch(f"/data-fields/{everyone['id']}", {"type": "text"})
    assert patched.body["data"]["type"] == "text" and patched.body["data"]["choices"] == []
    moved = api.patch(f"/data-fields/{data['id']}", {"agentId": None, "label": "Invoice #"})
    assert moved.body["data"]["agentId"] is None and moved.body["data"]["label"] == "Invoice #"
    assert api.delete(f"/data-fields/{data['id']}").body["data"]["deleted"] is True
    assert {e.action for e in AuditEntry.objects.filter(action__startswith="data_field.")} == {
        "data_field.created",
        "data_field.updated",
        "data_field.deleted",
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "Invoice"}, "key"),
        ({"label": ""}, "label"),
        ({"type": "url"}, "type"),
        ({"type": "choice"}, "choices"),
        ({"type": "choice", "choices": []}, "choices"),
        ({"type": "text", "choices": ["a"]}, "choices"),
        ({"required": "no"}, "required"),
        ({"agentId": "agt_missing"}, "agentId"),
    ],
)
def test_bad_data_field_input_is_a_400_naming_the_field(api: ApiClient, payload: dict[str, Any], field: str) -> None:
    response = api.post("/data-fields", {"key": "invoice_number", "label": "Invoice number", **payload})
    assert response.status_code == 400 and field in response.body["error"]["fields"], response.body


def test_a_field_cannot_be_tied_to_another_business_agent_and_dies_with_its_agent(
    api: ApiClient, other_org: Organization
) -> None:
    foreign = agent(ApiClient(make_key(other_org)), "billing")
    response = api.post("/data-fields", {"key": "x", "label": "X", "agentId": foreign["id"]})
    assert response.status_code == 400
    assert response.body["error"]["fields"]["agentId"] == [
        f"No agent with id '{foreign['id']}' exists in this business."
    ]

    mine = agent(api, "support")
    api.post("/data-fields", {"key": "serial_number", "label": "Serial number", "agentId": mine["id"]})
    api.delete(f"/agents/{mine['id']}")
    assert not DataCollectionField.objects.exists()


def test_field_keys_are_unique_per_business(api: ApiClient) -> None:
    assert api.post("/data-fields", {"key": "email", "label": "Email", "type": "email"}).status_code == 201
    assert "key" in api.post("/data-fields", {"key": "email", "label": "E-mail"}).body["error"]["fields"]


def test_a_knowledge_base_an_agent_is_limited_to_cannot_be_deleted_behind_its_back(
    api: ApiClient, org: Organization
) -> None:
    from django.db.models import RestrictedError

    kb = KnowledgeBase.objects.create(organization=org, name="Products")
    created = api.post("/agents", {**SPEC_EXAMPLE, "knowledgeBaseIds": [kb.public_id]}).body["data"]
    with pytest.raises(RestrictedError):
        kb.delete()  # the agent's scope must never silently widen to "all knowledge"
    api.patch(f"/agents/{created['id']}", {"knowledgeBaseIds": []})
    kb.delete()
    assert api.get(f"/agents/{created['id']}").body["data"]["knowledgeBaseIds"] == []
