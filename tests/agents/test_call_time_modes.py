"""Call-time isolation: a call of one mode routes through that mode's agents and calls that mode's tools.

Both modes hold a complete, competing team (same agent keys and hints, tools of the same name on two
different real endpoints), so a routing or a tool call that crossed the line would be seen on the wire.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from accounts.models import Organization
from agents.models import Agent, ToolInvocation
from agents.services import agent_create, agents_for, greeter_status, handoff_simulate, route_utterance, tool_invoke
from demo.simulator import _FrontDesk
from tests.webhooks.receiver import Receiver, Reply

from .conftest import make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_endpoint() -> Iterator[Receiver]:
    server = Receiver()
    server.default = Reply(status=200, body=b'{"where": "live"}', headers={"Content-Type": "application/json"})
    yield server
    server.close()


@pytest.fixture
def test_endpoint() -> Iterator[Receiver]:
    server = Receiver()
    server.default = Reply(status=200, body=b'{"where": "test"}', headers={"Content-Type": "application/json"})
    yield server
    server.close()


def _team(org: Organization, mode: str, url: str, *, prefix: str) -> None:
    lookup = make_tool(org, url, mode=mode)
    agent_create(
        organization=org,
        actor=None,
        mode=mode,
        agent_key="desk",
        display_name=f"{prefix} desk",
        instructions="Greet.",
        is_default=True,
    )
    agent_create(
        organization=org,
        actor=None,
        mode=mode,
        agent_key="orders",
        display_name=f"{prefix} orders",
        instructions="Orders.",
        match_hints=["order", "package"],
        tools={"useCustomToolIds": [lookup.public_id]},
    )


@pytest.fixture
def both_teams(org: Organization, live_endpoint: Receiver, test_endpoint: Receiver) -> None:
    _team(org, "live", live_endpoint.url, prefix="Live")
    _team(org, "test", test_endpoint.url, prefix="Sandbox")


@pytest.mark.parametrize("mode", ["live", "test"])
def test_a_simulated_call_routes_and_calls_tools_in_its_own_mode_only(
    org: Organization, both_teams: None, mode: str, live_endpoint: Receiver, test_endpoint: Receiver
) -> None:
    trace = handoff_simulate(organization=org, utterance="Where is my package?", call_session_id="c1", mode=mode)

    prefix = "Live" if mode == "live" else "Sandbox"
    assert trace.greeter == f"{prefix} desk"
    assert trace.specialist is not None and trace.specialist.mode == mode
    assert trace.specialist.display_name == f"{prefix} orders"
    assert trace.tool is not None and trace.tool.mode == mode
    hit, missed = (live_endpoint, test_endpoint) if mode == "live" else (test_endpoint, live_endpoint)
    (request,) = hit.requests
    assert request.headers["x-aip-mode"] == mode
    assert missed.requests == []
    assert ToolInvocation.objects.get().mode == mode


def test_a_live_call_never_sees_test_definitions_even_when_live_has_none(
    org: Organization, test_endpoint: Receiver
) -> None:
    _team(org, "test", test_endpoint.url, prefix="Sandbox")

    status = greeter_status(organization=org, mode="live")
    assert status.uses_built_in and status.agent is None
    decision = route_utterance(organization=org, mode="live", text="Where is my package?")
    assert decision.agent_key is None and decision.outcome == "no_match"
    trace = handoff_simulate(organization=org, utterance="Where is my package?", call_session_id="c", mode="live")
    assert trace.specialist is None and trace.tool is None and test_endpoint.requests == []
    assert list(agents_for(organization=org, mode="live")) == []
    # The bulk simulator's front desk, loaded for live calls, sees nobody either.
    assert _FrontDesk.load(org, "live") is None
    desk = _FrontDesk.load(org, "test")
    assert desk is not None and desk.greeter_name == "Sandbox desk"


def test_a_live_invocation_of_a_test_tool_is_refused_before_anything_is_sent(
    org: Organization, test_endpoint: Receiver
) -> None:
    sandbox_tool = make_tool(org, test_endpoint.url, mode="test")
    with pytest.raises(ValueError, match="live call cannot invoke the test tool"):
        tool_invoke(tool=sandbox_tool, arguments={"orderNumber": "A-100"}, call_session_id="c", mode="live")
    assert test_endpoint.requests == [] and not ToolInvocation.objects.exists()


def test_an_agent_limited_to_all_tools_gets_all_tools_of_its_mode_only(
    org: Organization, live_endpoint: Receiver, test_endpoint: Receiver
) -> None:
    from agents.services import agent_tools

    make_tool(org, live_endpoint.url, name="live_only")
    make_tool(org, test_endpoint.url, name="test_only", mode="test")
    live_agent = agent_create(organization=org, actor=None, agent_key="a", display_name="A", instructions="A.")
    test_agent = agent_create(
        organization=org, actor=None, mode="test", agent_key="a", display_name="A", instructions="A."
    )
    assert [t.name for t in agent_tools(live_agent)] == ["live_only"]
    assert [t.name for t in agent_tools(test_agent)] == ["test_only"]


def test_simulate_handoff_plays_a_test_call_by_default_and_a_live_one_with_mode_live(
    org: Organization, both_teams: None, live_endpoint: Receiver, test_endpoint: Receiver
) -> None:
    out = io.StringIO()
    call_command("simulate_handoff", "Where is my package?", "--org", org.public_id, stdout=out)
    assert "• Test mode: only the test agents and tools take part." in out.getvalue()
    assert "• Sandbox desk answers." in out.getvalue() and "• Sandbox orders takes the call." in out.getvalue()
    assert len(test_endpoint.requests) == 1 and live_endpoint.requests == []

    out = io.StringIO()
    call_command("simulate_handoff", "Where is my package?", "--org", org.public_id, "--mode", "live", stdout=out)
    assert "• Live desk answers." in out.getvalue() and "• Live orders takes the call." in out.getvalue()
    assert len(live_endpoint.requests) == 1 and len(test_endpoint.requests) == 1
    assert sorted(ToolInvocation.objects.values_list("mode", flat=True)) == ["live", "test"]
    assert Agent.objects.filter(organization=org).count() == 4
