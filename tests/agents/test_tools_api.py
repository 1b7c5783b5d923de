"""The custom tools API (manage:tools): contract, validation naming each field, masked secrets, tenancy, audit."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEntry, Organization
from agents.models import CustomTool
from tests.conftest import ApiClient, make_key

from .conftest import ORDER_SCHEMA, TOKEN, make_tool

pytestmark = pytest.mark.django_db

URL = "https://api.acme-dental.example/aiphone/lookup-order"


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "lookup_order",
        "description": "Looks up an order by its number.",
        "inputSchema": ORDER_SCHEMA,
        "endpointUrl": URL,
        "auth": {"type": "bearer", "token": TOKEN},
        **overrides,
    }


def test_create_returns_the_tool_with_its_secret_masked(api: ApiClient, org: Organization) -> None:
    response = api.post("/tools", body())

    assert response.status_code == 201, response.body
    data = response.body["data"]
    assert data["id"].startswith("tool_") and data["name"] == "lookup_order"
    assert data["inputSchema"] == ORDER_SCHEMA and data["endpointUrl"] == URL
    assert data["auth"] == {"type": "bearer", "token": "••••3921"}
    assert data["timeoutSeconds"] == 10 and data["enabled"] is True
    assert data["lastInvokedAt"] is None and data["lastInvocationStatus"] is None
    assert TOKEN not in response.content.decode()
    tool = CustomTool.objects.get(public_id=data["id"])
    assert tool.organization == org and tool.auth_secret == TOKEN and TOKEN not in tool.auth_secret_encrypted
    entry = AuditEntry.objects.get(action="tool.created")
    assert entry.actor_type == "api_key" and entry.target_id == data["id"] and TOKEN not in str(entry.metadata)


def test_list_get_patch_and_delete(api: ApiClient) -> None:
    created = api.post("/tools", body()).body["data"]
    api.post("/tools", body(name="check_availability"))

    listing = api.get("/tools?limit=1")
    assert listing.status_code == 200 and len(listing.body["data"]) == 1
    assert listing.body["pagination"]["hasMore"] is True
    assert listing.body["data"][0]["name"] == "check_availability"  # newest first

    assert api.get(f"/tools/{created['id']}").body["data"] == created
    patched = api.patch(
        f"/tools/{created['id']}", {"timeoutSeconds": 5, "enabled": False, "description": "Order status lookup."}
    )
    assert patched.status_code == 200
    assert (patched.body["data"]["timeoutSeconds"], patched.body["data"]["enabled"]) == (5, False)
    assert patched.body["data"]["auth"] == {"type": "bearer", "token": "••••3921"}  # untouched
    assert AuditEntry.objects.get(action="tool.updated").metadata == {
        "changes": ["description", "timeoutSeconds", "enabled"]
    }

    deleted = api.delete(f"/tools/{created['id']}")
    assert deleted.status_code == 200 and deleted.body["data"] == {"id": created["id"], "deleted": True}
    assert api.get(f"/tools/{created['id']}").status_code == 404
    assert AuditEntry.objects.filter(action="tool.deleted", target_id=created["id"]).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "LookupOrder"}, "name"),
        ({"name": "lookup-order"}, "name"),
        ({"name": "1lookup"}, "name"),
        ({"name": "transfer_call"}, "name"),  # a built-in ability
        ({"description": "  "}, "description"),
        ({"endpointUrl": "ftp://files.example.com/x"}, "endpointUrl"),
        ({"endpointUrl": "https://10.0.0.5/tool"}, "endpointUrl"),
        ({"endpointUrl": "https://169.254.169.254/latest/meta-data"}, "endpointUrl"),
        ({"endpointUrl": "https://user:pw@example.com/x"}, "endpointUrl"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
        ({"timeoutSeconds": 11}, "timeoutSeconds"),
        ({"timeoutSeconds": "5"}, "timeoutSeconds"),
        ({"timeoutSeconds": True}, "timeoutSeconds"),
        ({"enabled": "yes"}, "enabled"),
        ({"auth": {"type": "oauth"}}, "auth.type"),
        ({"auth": {"type": {"nested": "object"}}}, "auth.type"),
        ({"auth": {"type": ["bearer"]}}, "auth.type"),
        ({"auth": {"type": "bearer"}}, "auth.token"),
        ({"auth": {"type": "bearer", "token": "line\nbreak"}}, "auth.token"),
        ({"auth": {"type": "header", "headerName": "Content-Type", "value": "x"}}, "auth.headerName"),
        ({"auth": {"type": "header", "headerName": "X-AIP-Signature", "value": "x"}}, "auth.headerName"),
        ({"auth": {"type": "header", "headerName": "Bad Header", "value": "x"}}, "auth.headerName"),
        ({"auth": {"type": "basic", "username": "a:b", "password": "p"}}, "auth.username"),
        ({"auth": {"type": "none", "token": "x"}}, "auth.token"),
        ({"color": "blue"}, "color"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api: ApiClient, overrides: dict[str, Any], field: str) -> None:
    response = api.post("/tools", body(**overrides))
    assert response.status_code == 400, response.body
    error = response.body["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["fields"], error
    assert not CustomTool.objects.exists()


def test_a_bad_schema_is_a_400_pointing_at_the_bad_path(api: ApiClient) -> None:
    schema = {"type": "object", "properties": {"orderNumber": {"type": "strng"}}}
    response = api.post("/tools", body(inputSchema=schema))
    assert response.status_code == 400
    assert list(response.body["error"]["fields"]) == ["inputSchema.properties.orderNumber.type"]
    not_object = api.post("/tools", body(inputSchema={"type": "array"}))
    assert list(not_object.body["error"]["fields"]) == ["inputSchema.type"]


def test_missing_required_fields_are_all_reported(api: ApiClient) -> None:
    response = api.post("/tools", {})
    assert set(response.body["error"]["fields"]) == {"name", "description", "inputSchema", "endpointUrl"}


def test_names_are_unique_per_business_only(api: ApiClient, other_org: Organization) -> None:
    assert api.post("/tools", body()).status_code == 201
    duplicate = api.post("/tools", body())
    assert duplicate.status_code == 400 and "already exists" in duplicate.body["error"]["fields"]["name"][0]
    assert ApiClient(make_key(other_org)).post("/tools", body()).status_code == 201


def test_secrets_are_kept_on_patch_unless_replaced_and_a_new_type_needs_its_secret(api: ApiClient) -> None:
    tool_id = api.post("/tools", body()).body["data"]["id"]
    masked = api.get(f"/tools/{tool_id}").body["data"]["auth"]
    assert api.patch(f"/tools/{tool_id}", {"auth": masked}).status_code == 200  # round-tripping GET keeps it
    assert CustomTool.objects.get(public_id=tool_id).auth_secret == TOKEN

    replaced = api.patch(f"/tools/{tool_id}", {"auth": {"type": "bearer", "token": "new-token-value-0000"}})
    assert replaced.body["data"]["auth"]["token"] == "••••0000"

    switched = api.patch(f"/tools/{tool_id}", {"auth": {"type": "header", "headerName": "X-Key"}})
    assert switched.status_code == 400 and "auth.value" in switched.body["error"]["fields"]
    header = api.patch(f"/tools/{tool_id}", {"auth": {"type": "header", "headerName": "X-Key", "value": "short"}})
    assert header.body["data"]["auth"] == {"type": "header", "headerName": "X-Key", "value": "••••"}
    basic = api.patch(f"/tools/{tool_id}", {"auth": {"type": "basic", "username": "me", "password": "hunter2hunter2"}})
    assert basic.body["data"]["auth"] == {"type": "basic", "username": "me", "password": "••••ter2"}
    none = api.patch(f"/tools/{tool_id}", {"auth": {"type": "none"}})
    assert none.body["data"]["auth"] == {"type": "none"}
    tool = CustomTool.objects.get(public_id=tool_id)
    assert tool.auth_secret_encrypted == "" and tool.auth_headers() == {}


def test_another_business_tool_is_a_404_and_the_scope_is_required(
    api: ApiClient, other_org: Organization, org: Organization
) -> None:
    foreign = make_tool(other_org, URL)
    for response in (
        api.get(f"/tools/{foreign.public_id}"),
        api.patch(f"/tools/{foreign.public_id}", {}),
        api.delete(f"/tools/{foreign.public_id}"),
    ):
        assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert api.get("/tools").body["data"] == []

    narrow = ApiClient(make_key(org, scopes=["manage:agents"]))
    assert narrow.get("/tools").body["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_a_tool_an_agent_is_limited_to_cannot_be_deleted(api: ApiClient) -> None:
    tool_id = api.post("/tools", body()).body["data"]["id"]
    api.post(
        "/agents",
        {
            "agentKey": "orders",
            "displayName": "Orders",
            "instructions": "Order questions.",
            "tools": {"useCustomToolIds": [tool_id]},
        },
    )
    response = api.delete(f"/tools/{tool_id}")
    assert response.status_code == 409 and response.body["error"]["code"] == "CONFLICT"
    assert "orders" in response.body["error"]["message"]
    assert CustomTool.objects.filter(public_id=tool_id).exists()


def test_test_keys_manage_tools_too(test_api: ApiClient) -> None:
    assert test_api.post("/tools", body()).status_code == 201
