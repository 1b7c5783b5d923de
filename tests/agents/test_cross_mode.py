"""Test mode as a sandbox for tools, agents and data fields: the cross-mode matrix.

A test key sees and changes test definitions only, a live key live ones only. Every endpoint that takes
an id or lists is called across the line the way the cross-tenant tests call it across businesses: an id
of the other mode answers exactly what another business's id answers (reads, writes, filters, references),
lists and their cursors never show the other mode, and names, keys and the default greeter are per mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Organization
from agents.models import Agent, CustomTool, DataCollectionField
from tests.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db

URL = "https://tools.example.com/lookup"
SCHEMA = {"type": "object", "properties": {"orderNumber": {"type": "string"}}}


def _tool(api: ApiClient, name: str = "lookup_order") -> dict[str, Any]:
    response = api.post("/tools", {"name": name, "description": "Looks up.", "inputSchema": SCHEMA, "endpointUrl": URL})
    assert response.status_code == 201, response.body
    return response.body["data"]


def _agent(api: ApiClient, key: str = "billing", **extra: Any) -> dict[str, Any]:
    body = {"agentKey": key, "displayName": key.title(), "instructions": f"You do {key}.", **extra}
    response = api.post("/agents", body)
    assert response.status_code == 201, response.body
    return response.body["data"]


def _field(api: ApiClient, key: str = "invoice_number", **extra: Any) -> dict[str, Any]:
    response = api.post("/data-fields", {"key": key, "label": key.replace("_", " ").title(), **extra})
    assert response.status_code == 201, response.body
    return response.body["data"]


MAKERS: dict[str, Callable[..., dict[str, Any]]] = {
    "tools": _tool,
    "agents": _agent,
    "data-fields": _field,
}


def _not_found_shape(response: Any) -> tuple[int, str, str]:
    """What a 404 says, with the id taken out, to compare the other mode's answer with another business's."""
    error = response.body["error"]
    return response.status_code, error["code"], error["message"].split(" with id ")[0]


@pytest.fixture
def foreign_api(other_org: Organization) -> ApiClient:
    return ApiClient(make_key(other_org, mode="test"))


@pytest.mark.parametrize("resource", list(MAKERS))
@pytest.mark.parametrize("owner_mode", ["test", "live"])
def test_the_other_modes_id_is_a_404_exactly_like_another_business_id(
    resource: str,
    owner_mode: str,
    api: ApiClient,
    test_api: ApiClient,
    foreign_api: ApiClient,
) -> None:
    owner, caller = (test_api, api) if owner_mode == "test" else (api, test_api)
    theirs = MAKERS[resource](owner)
    elsewhere = MAKERS[resource](foreign_api)
    path, foreign_path = f"/{resource}/{theirs['id']}", f"/{resource}/{elsewhere['id']}"

    for method, args in (("get", ()), ("patch", ({},)), ("delete", ())):
        across_modes = getattr(caller, method)(path, *args)
        across_businesses = getattr(caller, method)(foreign_path, *args)
        assert across_modes.status_code == 404, (method, across_modes.body)
        assert across_modes.body["error"]["message"] == (
            across_businesses.body["error"]["message"].replace(elsewhere["id"], theirs["id"])
        )
        assert _not_found_shape(across_modes) == _not_found_shape(across_businesses)

    # A PATCH that would change something changes nothing either, and the object is still there.
    change = {"tools": {"description": "Hijacked."}, "agents": {"displayName": "Hijacked"}}
    caller.patch(path, change.get(resource, {"label": "Hijacked"}))
    assert owner.get(path).status_code == 200
    assert "Hijacked" not in str(owner.get(path).body["data"])
    # The owner's mode still reads it; the list of the other mode does not show it.
    assert [row["id"] for row in caller.get(f"/{resource}").body["data"]] == []
    assert [row["id"] for row in owner.get(f"/{resource}").body["data"]] == [theirs["id"]]


@pytest.mark.parametrize("resource", list(MAKERS))
def test_lists_and_their_cursors_stay_in_the_keys_mode(resource: str, api: ApiClient, test_api: ApiClient) -> None:
    names = {"tools": "tool_{}", "agents": "agent-{}", "data-fields": "field_{}"}[resource]
    live_ids = {MAKERS[resource](api, names.format(i))["id"] for i in range(3)}
    test_ids = {MAKERS[resource](test_api, names.format(i))["id"] for i in range(3)}

    def walk(client: ApiClient, cursor: str | None = None) -> list[str]:
        seen: list[str] = []
        while True:
            response = client.get(f"/{resource}?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            assert response.status_code == 200, response.body
            seen += [row["id"] for row in response.body["data"]]
            cursor = response.body["pagination"]["nextCursor"]
            if not cursor:
                return seen

    assert set(walk(api)) == live_ids and len(walk(api)) == 3
    assert set(walk(test_api)) == test_ids and len(walk(test_api)) == 3
    # A cursor taken from the test list, replayed with the live key, still pages through live rows only.
    test_cursor = test_api.get(f"/{resource}?limit=1").body["pagination"]["nextCursor"]
    assert set(walk(api, test_cursor)) <= live_ids


def test_the_agent_filter_of_data_fields_treats_a_test_agent_as_unknown_to_a_live_key(
    api: ApiClient, test_api: ApiClient, foreign_api: ApiClient
) -> None:
    sandbox_agent = _agent(test_api)
    _field(test_api, agentId=sandbox_agent["id"])
    foreign_agent = _agent(foreign_api)

    across_modes = api.get(f"/data-fields?agentId={sandbox_agent['id']}")
    across_businesses = api.get(f"/data-fields?agentId={foreign_agent['id']}")
    assert across_modes.status_code == across_businesses.status_code == 400
    assert across_modes.body["error"]["fields"]["agentId"] == [
        f"No agent with id '{sandbox_agent['id']}' exists in this business."
    ]
    # The test key filters by its own agent.
    assert len(test_api.get(f"/data-fields?agentId={sandbox_agent['id']}").body["data"]) == 1


def test_an_agent_references_only_tools_and_a_field_only_agents_of_its_own_mode(
    api: ApiClient, test_api: ApiClient
) -> None:
    sandbox_tool = _tool(test_api)
    live_tool = _tool(api)
    sandbox_agent = _agent(test_api, "orders")

    refused = api.post(
        "/agents",
        {
            "agentKey": "orders",
            "displayName": "Orders",
            "instructions": "x",
            "tools": {"useCustomToolIds": [sandbox_tool["id"]]},
        },
    )
    assert refused.status_code == 400
    assert refused.body["error"]["fields"]["tools.useCustomToolIds[0]"] == [
        f"No custom tool with id '{sandbox_tool['id']}' exists in this business."
    ]
    live_agent = _agent(api, "orders", tools={"useCustomToolIds": [live_tool["id"]]})
    patched = api.patch(f"/agents/{live_agent['id']}", {"tools": {"useCustomToolIds": [sandbox_tool["id"]]}})
    assert patched.status_code == 400
    assert list(Agent.objects.get(public_id=live_agent["id"]).custom_tools.all()) == [
        CustomTool.objects.get(public_id=live_tool["id"])
    ]

    for response in (
        api.post("/data-fields", {"key": "x", "label": "X", "agentId": sandbox_agent["id"]}),
        test_api.post("/data-fields", {"key": "x", "label": "X", "agentId": live_agent["id"]}),
    ):
        assert response.status_code == 400 and "agentId" in response.body["error"]["fields"]
    assert not DataCollectionField.objects.exists()


def test_names_keys_and_the_default_greeter_are_per_mode(
    api: ApiClient, test_api: ApiClient, org: Organization
) -> None:
    for client in (api, test_api):
        _tool(client, "lookup_order")
        _agent(client, "desk", isDefault=True)
        _field(client, "email")
    for client in (api, test_api):
        assert (
            "name"
            in client.post(
                "/tools", {"name": "lookup_order", "description": "d", "inputSchema": SCHEMA, "endpointUrl": URL}
            ).body["error"]["fields"]
        )
        assert (
            "agentKey"
            in client.post("/agents", {"agentKey": "desk", "displayName": "D", "instructions": "i"}).body["error"][
                "fields"
            ]
        )
        assert "key" in client.post("/data-fields", {"key": "email", "label": "E"}).body["error"]["fields"]

    # Making a new test greeter leaves the live greeter alone.
    _agent(test_api, "reception", isDefault=True)
    defaults = dict(Agent.objects.filter(organization=org, is_default=True).values_list("mode", "agent_key"))
    assert defaults == {"live": "desk", "test": "reception"}
    assert api.get("/agents").body["message"] == "Desk greets every call and hands off to specialists."
    assert test_api.get("/agents").body["message"] == "Reception greets every call and hands off to specialists."


def test_what_a_key_creates_carries_its_mode(api: ApiClient, test_api: ApiClient) -> None:
    for client, mode in ((api, "live"), (test_api, "test")):
        tool, agent, field = _tool(client), _agent(client), _field(client)
        assert CustomTool.objects.get(public_id=tool["id"]).mode == mode
        assert Agent.objects.get(public_id=agent["id"]).mode == mode
        assert DataCollectionField.objects.get(public_id=field["id"]).mode == mode
