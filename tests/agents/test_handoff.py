"""The simulated call: caller → greeter → specialist → tool call, with the real router and a real endpoint."""

from __future__ import annotations

import pytest

from accounts.models import Organization
from agents.services import agent_create, handoff_simulate, route_utterance
from tests.webhooks.receiver import Receiver

from .conftest import make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org: Organization, endpoint: Receiver) -> None:
    lookup = make_tool(org, endpoint.url)
    make_tool(org, endpoint.url, name="book_slot", inputSchema={"type": "object", "properties": {}})
    agent_create(organization=org, actor=None, data={"agentKey": "desk", "displayName": "Front desk",
                                                     "instructions": "Greet and route.", "isDefault": True})
    agent_create(organization=org, actor=None, data={
        "agentKey": "orders", "displayName": "Orders", "instructions": "Order questions.",
        "matchHints": ["order", "delivery", "where is my package"], "tools": {"useCustomToolIds": [lookup.public_id]}})
    agent_create(organization=org, actor=None, data={"agentKey": "billing", "displayName": "Billing",
                                                     "instructions": "Bills.", "matchHints": ["bill"],
                                                     "enabled": False})


def test_a_caller_is_handed_to_the_specialist_who_calls_its_tool(org: Organization, team: None,
                                                                 endpoint: Receiver) -> None:
    trace = handoff_simulate(organization=org, utterance="Where is my package? Order A-1042.",
                             call_session_id="call_sim_1")

    assert trace.greeter == "Front desk" and trace.specialist is not None and trace.specialist.agent_key == "orders"
    assert set(trace.decision.matched_hints) == {"order", "where is my package"}
    assert trace.tool is not None and trace.tool.name == "lookup_order"
    assert trace.result is not None and trace.result.ok and trace.result.invocation.source == "simulator"
    (request,) = endpoint.requests
    assert request.json["callSessionId"] == "call_sim_1" and request.json["tool"] == "lookup_order"
    assert request.json["arguments"] == {"orderNumber": "example"}  # example arguments from the schema
    assert request.headers["x-aip-mode"] == "test"
    assert trace.steps[-1] == "Orders calls lookup_order: answered."


def test_disabled_specialists_are_never_chosen_and_misses_stay_with_the_greeter(
        org: Organization, team: None, endpoint: Receiver) -> None:
    trace = handoff_simulate(organization=org, utterance="a question about my bill", call_session_id="c")
    assert trace.specialist is None and trace.result is None and endpoint.requests == []
    assert trace.decision.outcome == "no_match" and "greeter keeps the call" in trace.steps[-1]
    assert route_utterance(organization=org, text="my delivery").agent_key == "orders"


def test_the_simulate_handoff_command_plays_the_call(org: Organization, team: None, endpoint: Receiver) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("simulate_handoff", "My order has not arrived", "--org", org.public_id,
                 "--arguments", '{"orderNumber": "A-1042"}', stdout=out)
    text = out.getvalue()
    assert "• Front desk answers." in text and "• Orders takes the call." in text
    assert "• Orders calls lookup_order: answered." in text and '"trusted": false' in text
    assert endpoint.requests[0].json["arguments"] == {"orderNumber": "A-1042"}
