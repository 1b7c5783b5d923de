"""The simulated call: caller → greeter → specialist → tool call, with the real router and a real endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.models import Organization
from agents.models import ToolInvocation
from agents.services import agent_create, handoff_simulate, route_utterance
from core import signing
from demo.simulator import simulate_handoff_call
from phone.models import Call
from tests.webhooks.receiver import Receiver
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery
from webhooks.services import endpoint_create

from .conftest import make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org: Organization, endpoint: Receiver) -> None:
    """Test-mode definitions: the simulator plays test calls by default, which see only these."""
    lookup = make_tool(org, endpoint.url, mode="test")
    make_tool(org, endpoint.url, mode="test", name="book_slot", input_schema={"type": "object", "properties": {}})
    agent_create(
        organization=org,
        actor=None,
        mode="test",
        agent_key="desk",
        display_name="Front desk",
        instructions="Greet and route.",
        is_default=True,
    )
    agent_create(
        organization=org,
        actor=None,
        mode="test",
        agent_key="orders",
        display_name="Orders",
        instructions="Order questions.",
        match_hints=["order", "delivery", "where is my package"],
        tools={"useCustomToolIds": [lookup.public_id]},
    )
    agent_create(
        organization=org,
        actor=None,
        mode="test",
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["bill"],
        enabled=False,
    )


def test_a_caller_is_handed_to_the_specialist_who_calls_its_tool(
    org: Organization, team: None, endpoint: Receiver
) -> None:
    trace = handoff_simulate(
        organization=org, utterance="Where is my package? Order A-1042.", call_session_id="call_sim_1"
    )

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
    org: Organization, team: None, endpoint: Receiver
) -> None:
    trace = handoff_simulate(organization=org, utterance="a question about my bill", call_session_id="c")
    assert trace.specialist is None and trace.result is None and endpoint.requests == []
    assert trace.decision.outcome == "no_match" and "greeter keeps the call" in trace.steps[-1]
    assert route_utterance(organization=org, mode="test", text="my delivery").agent_key == "orders"


def test_the_simulate_handoff_command_plays_the_call(org: Organization, team: None, endpoint: Receiver) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "simulate_handoff",
        "My order has not arrived",
        "--org",
        org.public_id,
        "--arguments",
        '{"orderNumber": "A-1042"}',
        stdout=out,
    )
    text = out.getvalue()
    call = Call.objects.get(organization=org)
    assert f"• Call {call.public_id} from " in text
    assert "• Front desk answers." in text and "• Orders takes the call." in text
    assert "• Orders calls lookup_order: answered." in text and '"trusted": false' in text
    assert "no webhook endpoint subscribes to it." in text
    assert endpoint.requests[0].json["arguments"] == {"orderNumber": "A-1042"}
    assert endpoint.requests[0].json["callSessionId"] == call.public_id


@pytest.fixture
def hooks(org: Organization) -> Iterator[tuple[Receiver, str]]:
    """A second real HTTP server: the business's webhook receiver, subscribed to finished calls."""
    server = Receiver()
    _, secret = endpoint_create(organization=org, url=server.url, events=["call.completed"], actor=None)
    yield server, secret
    server.close()


def test_a_demo_call_goes_caller_greeter_specialist_tool_call_webhook(
    org: Organization, team: None, endpoint: Receiver, hooks: tuple[Receiver, str]
) -> None:
    receiver, secret = hooks
    played = simulate_handoff_call(organization=org, utterance="Where is my package? Order A-1042.")

    # The tool was called for real, for this call, in test mode.
    call = Call.objects.get(organization=org)
    (tool_request,) = endpoint.requests
    assert tool_request.json["callSessionId"] == call.public_id and tool_request.json["tool"] == "lookup_order"
    invocation = ToolInvocation.objects.get(organization=org)
    assert (invocation.call_session_id, invocation.source, invocation.mode) == (call.public_id, "simulator", "test")

    # The call is finished, handled by the specialist, with a transcript of the hand-off.
    orders = played.trace.specialist
    assert orders is not None and orders.agent_key == "orders"
    assert (call.status, call.agent_public_id, call.agent_name) == ("completed", orders.public_id, "Orders")
    said = [(t.speaker, t.text) for t in call.turns.order_by("position")]
    assert said[0] == ("agent", f"Thanks for calling {org.name}, this is Front desk. How can I help?")
    assert said[1] == ("caller", "Where is my package? Order A-1042.")
    assert ("agent", "Hi, this is Orders.") in said
    assert call.summary == "Front desk handed the caller to Orders, who looked up the answer with lookup_order."

    # …and the business's webhook receives call.completed naming the specialist, signed.
    (delivery,) = Delivery.objects.filter(event=played.completed)
    delivery_attempt(delivery_id=delivery.pk)
    (hook,) = receiver.requests
    signing.verify(header=hook.headers["x-aip-signature"], body=hook.body, secret=secret)
    assert hook.json["type"] == "call.completed" and hook.json["livemode"] is False
    assert hook.json["data"]["id"] == call.public_id
    assert hook.json["data"]["agent"] == {"id": orders.public_id, "name": "Orders"}
    assert played.steps[-1] == f"call.completed ({played.completed.public_id}) queued for 1 webhook endpoint."


def test_a_demo_call_nobody_matches_stays_with_the_greeter_and_still_ends_in_a_webhook(
    org: Organization, team: None, endpoint: Receiver, hooks: tuple[Receiver, str]
) -> None:
    played = simulate_handoff_call(organization=org, utterance="What are your opening hours?")
    desk = played.trace.greeter
    call = Call.objects.get(organization=org)
    assert endpoint.requests == [] and played.trace.specialist is None
    assert call.agent_name == desk == "Front desk" and call.status == "completed"
    assert Delivery.objects.filter(event=played.completed).count() == 1


def test_a_failing_tool_is_told_in_the_call_and_its_summary(org: Organization, team: None, endpoint: Receiver) -> None:
    from tests.webhooks.receiver import Reply

    endpoint.default = Reply(status=503, body=b'{"error": "down"}', headers={"Content-Type": "application/json"})
    played = simulate_handoff_call(organization=org, utterance="my delivery is late", arguments={"orderNumber": "A-1"})
    call = played.call
    assert played.trace.result is not None and not played.trace.result.ok
    assert call.summary.startswith("Front desk handed the caller to Orders, whose call to lookup_order failed (")
    assert call.turns.filter(text__startswith="I'm sorry, I can't reach that system").exists()
