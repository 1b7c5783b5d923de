"""The tools and agents dashboards through Django's test client: pages, htmx partials, roles, tenancy."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEntry, Organization
from agents.models import Agent, CustomTool, DataCollectionField, ToolInvocation
from agents.services import agent_create, signing_secret_for
from phone.models import KnowledgeBase
from tests.conftest import make_org
from tests.webhooks.receiver import Receiver

from .conftest import TOKEN, make_tool

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def viewer_client(viewer: Any) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def test_the_tools_page_lists_tools_with_their_last_status_and_the_masked_signing_secret(
    owner_client: Client, org: Organization, tool: CustomTool
) -> None:
    html = owner_client.get("/settings/developer/tools/").content.decode()
    assert "lookup_order" in html and "Never" in html
    secret = signing_secret_for(organization=org)
    assert secret.masked in html and secret.secret not in html and TOKEN not in html


def test_revealing_and_rotating_the_signing_secret_is_for_managers_and_audited(
    owner_client: Client, viewer_client: Client, org: Organization
) -> None:
    secret = signing_secret_for(organization=org).secret
    assert viewer_client.post("/settings/developer/tools/signing-secret/", {"action": "reveal"}).status_code == 403
    assert secret not in viewer_client.get("/settings/developer/tools/").content.decode()

    revealed = owner_client.post("/settings/developer/tools/signing-secret/", {"action": "reveal"}, headers=HTMX)
    assert secret in revealed.content.decode() and revealed["Cache-Control"] == "no-store"
    rotated = owner_client.post(
        "/settings/developer/tools/signing-secret/", {"action": "rotate", "overlap": "24h"}, headers=HTMX
    )
    new = signing_secret_for(organization=org).secret
    assert new != secret and new in rotated.content.decode()
    assert {"tool.signing_secret_revealed", "tool.signing_secret_rotated"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def test_creating_a_tool_from_the_editor_calls_the_service(owner_client: Client, org: Organization) -> None:
    form = {
        "name": "check_slots",
        "description": "Free appointment slots on a day.",
        "input_schema": json.dumps({"type": "object", "properties": {"day": {"type": "string"}}}),
        "endpoint_url": "https://booking.example.com/slots",
        "auth_type": "header",
        "auth_header_name": "X-Api-Key",
        "auth_header_value": "hdr-secret-123456",
        "timeout_seconds": "7",
        "enabled": "on",
    }
    response = owner_client.post("/settings/developer/tools/new/", form)
    tool = CustomTool.objects.get(organization=org, name="check_slots")
    assert response.status_code == 302 and response["Location"] == f"/settings/developer/tools/{tool.public_id}/"
    assert tool.timeout_seconds == 7 and tool.auth_headers() == {"X-Api-Key": "hdr-secret-123456"}
    assert AuditEntry.objects.get(action="tool.created").actor_user is not None

    page = owner_client.get(response["Location"]).content.decode()
    assert "hdr-secret-123456" not in page and "Leave blank to keep ••••3456" in page

    # Saving with the secret input blank keeps the stored secret.
    form.update(auth_header_value="", timeout_seconds="3")
    owner_client.post(response["Location"], form)
    tool.refresh_from_db()
    assert tool.timeout_seconds == 3 and tool.auth_secret == "hdr-secret-123456"


def test_the_editor_shows_errors_at_the_bad_schema_path(owner_client: Client) -> None:
    form = {
        "name": "x_tool",
        "description": "d",
        "endpoint_url": "https://a.example.com/x",
        "auth_type": "none",
        "timeout_seconds": "10",
        "input_schema": json.dumps({"type": "object", "properties": {"a": {"type": 5}}}),
    }
    response = owner_client.post("/settings/developer/tools/new/", form)
    assert response.status_code == 400
    assert "properties.a.type" in response.content.decode()
    bad_json = owner_client.post("/settings/developer/tools/new/", {**form, "input_schema": "{oops"})
    assert bad_json.status_code == 400
    assert re.search(
        r"The input schema is not valid JSON: [a-z][^<]* \(line 1, column 2\)\.", bad_json.content.decode()
    )
    assert not CustomTool.objects.exists()


def test_inline_schema_check_answers_with_the_feedback_partial(owner_client: Client) -> None:
    good = owner_client.post(
        "/settings/developer/tools/schema-check/",
        {
            "input_schema": json.dumps(
                {"type": "object", "properties": {"date": {"type": "string"}}, "required": ["date"]}
            )
        },
        headers=HTMX,
    )
    html = good.content.decode()
    assert (
        html.lstrip().startswith('<div id="schema-feedback"')
        and "Valid schema" in html
        and "<code>date</code>*" in html
    )
    bad = owner_client.post(
        "/settings/developer/tools/schema-check/",
        {"input_schema": json.dumps({"type": "object", "required": "date"})},
        headers=HTMX,
    ).content.decode()
    assert "“required” in the schema must be a list, not text." in bad and "Valid schema" not in bad


def test_the_test_form_makes_a_real_test_mode_call_and_shows_request_response_and_latency(
    owner_client: Client, tool: CustomTool, endpoint: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    page = owner_client.get(f"/settings/developer/tools/{tool.public_id}/").content.decode()
    assert 'name="orderNumber"' in page and 'name="zipCode"' in page

    with django_capture_on_commit_callbacks(execute=True):  # the tools worker runs the task (eagerly) on commit
        response = owner_client.post(
            f"/settings/developer/tools/{tool.public_id}/test/", {"orderNumber": "A-77", "zipCode": ""}, headers=HTMX
        )
    invocation = ToolInvocation.objects.get()
    assert f"/tools/invocations/{invocation.public_id}/" in response.content.decode()
    (request,) = endpoint.requests
    assert request.json["arguments"] == {"orderNumber": "A-77"} and request.headers["x-aip-mode"] == "test"
    assert invocation.mode == "test" and invocation.source == "dashboard" and invocation.status == "succeeded"

    # The panel's next poll gets the finished result.
    html = unescape(
        owner_client.get(
            f"/settings/developer/tools/invocations/{invocation.public_id}/",
            headers={**HTMX, "HX-Target": "test-result"},
        ).content.decode()
    )
    assert html.lstrip().startswith('<div id="test-result"') and "hx-trigger" not in html
    assert "The tool answered." in html and "Latency:" in html and "shipped" in html
    assert "Bearer ••••3921" in html and TOKEN not in html
    assert '"trusted": false' in html  # what the AI receives


def test_a_pending_test_result_polls_until_the_invocation_finishes(owner_client: Client, tool: CustomTool) -> None:
    # Without running the on-commit hook the invocation stays queued, as when the worker is busy.
    response = owner_client.post(
        f"/settings/developer/tools/{tool.public_id}/test/", {"orderNumber": "A-77"}, headers=HTMX
    )
    html = response.content.decode()
    invocation = ToolInvocation.objects.get()
    assert invocation.status == "pending"
    assert 'hx-trigger="load delay:1s"' in html and f"/tools/invocations/{invocation.public_id}/" in html


def test_test_argument_errors_re_render_the_form(owner_client: Client, tool: CustomTool) -> None:
    response = owner_client.post(
        f"/settings/developer/tools/{tool.public_id}/test/", {"arguments_json": "{not json"}, headers=HTMX
    )
    assert response.status_code == 400 and response["HX-Retarget"] == "#test-form"
    assert "The arguments are not valid JSON" in response.content.decode() and not ToolInvocation.objects.exists()


def test_the_invocation_log_filters_and_follows_the_viewing_mode(
    owner_client: Client, org: Organization, endpoint: Receiver
) -> None:
    from agents.services import tool_invoke

    a = make_tool(org, endpoint.url, name="tool_a")
    b = make_tool(org, endpoint.url, name="tool_b")
    sandbox = make_tool(org, endpoint.url, name="sandbox_only", mode="test")
    tool_invoke(tool=a, arguments={"orderNumber": "A-1"}, call_session_id="c1", mode="live")
    tool_invoke(tool=b, arguments={"orderNumber": "B"}, call_session_id="c2", mode="live")
    tool_invoke(tool=sandbox, arguments={"orderNumber": "C-1"}, call_session_id="c3", mode="test")
    everything = owner_client.get("/settings/developer/tools/invocations/").content.decode()
    assert everything.count('data-testid="invocation-row"') == 2 and "sandbox_only" not in everything
    only_b = owner_client.get(
        f"/settings/developer/tools/invocations/?tool={b.public_id}", headers={**HTMX, "HX-Target": "invocation-table"}
    ).content.decode()
    assert only_b.count('data-testid="invocation-row"') == 1 and "tool_b" in only_b and "<html" not in only_b
    rejected = owner_client.get("/settings/developer/tools/invocations/?status=rejected").content.decode()
    assert rejected.count('data-testid="invocation-row"') == 1 and "invalid_arguments" in rejected

    owner_client.post("/settings/developer/viewing-mode/", {"mode": "test"})
    test_rows = owner_client.get("/settings/developer/tools/invocations/").content.decode()
    assert test_rows.count('data-testid="invocation-row"') == 1 and "sandbox_only" in test_rows


def test_viewers_read_but_cannot_change_and_other_businesses_are_404(
    viewer_client: Client, owner_client: Client, tool: CustomTool
) -> None:
    assert viewer_client.get(f"/settings/developer/tools/{tool.public_id}/").status_code == 200
    for url, data in [
        ("/settings/developer/tools/new/", {}),
        (f"/settings/developer/tools/{tool.public_id}/", {"name": "x"}),
        (f"/settings/developer/tools/{tool.public_id}/test/", {}),
        (f"/settings/developer/tools/{tool.public_id}/delete/", {}),
        ("/settings/developer/agents/new/", {}),
    ]:
        assert viewer_client.post(url, data).status_code == 403, url

    foreign = make_tool(make_org("Elsewhere"), "https://x.example.com/t", name="foreign_tool")
    assert owner_client.get(f"/settings/developer/tools/{foreign.public_id}/").status_code == 404
    assert owner_client.post(f"/settings/developer/tools/{foreign.public_id}/test/", {}).status_code == 404


# --- agents ---------------------------------------------------------------------------------------


def test_the_agents_page_explains_the_greeter_fallback(owner_client: Client, org: Organization) -> None:
    assert "built-in AI agent handles every call" in owner_client.get("/settings/developer/agents/").content.decode()
    agent_create(
        organization=org,
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["bill"],
        actor=None,
    )
    assert (
        "No agent is marked as the default greeter" in owner_client.get("/settings/developer/agents/").content.decode()
    )


def test_creating_an_agent_with_hint_chips_pickers_and_default(owner_client: Client, org: Organization) -> None:
    tool = make_tool(org, "https://t.example.com/a")
    kb = KnowledgeBase.objects.create(organization=org, name="Price list")
    KnowledgeBase.objects.create(organization=make_org("Other"), name="Not yours")
    page = owner_client.get("/settings/developer/agents/new/").content.decode()
    assert "Price list" in page and "Not yours" not in page  # pickers show only the business's own

    # "Add hint" re-renders the chips without saving.
    chips = owner_client.post(
        "/settings/developer/agents/new/",
        {"hints": ["bill"], "new_hint": "refund, Invoices", "add_hint": "1"},
        headers=HTMX,
    ).content.decode()
    assert chips.count('name="hints"') == 3 and "Invoices" in chips and not Agent.objects.exists()
    removed = owner_client.post(
        "/settings/developer/agents/new/", {"hints": ["bill", "refund"], "remove_hint": "bill"}, headers=HTMX
    ).content.decode()
    assert removed.count('name="hints"') == 1 and 'value="refund"' in removed

    response = owner_client.post(
        "/settings/developer/agents/new/",
        {
            "agent_key": "billing",
            "display_name": "Billing",
            "instructions": "You handle billing.",
            "hints": ["bill", "refund"],
            "new_hint": "invoice",
            "tools_mode": "selected",
            "tool_ids": [tool.public_id],
            "kb_mode": "selected",
            "kb_ids": [kb.public_id],
            "allow_payments": "on",
            "is_default": "on",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    agent = Agent.objects.get(agent_key="billing")
    assert agent.match_hints == ["bill", "refund", "invoice"] and agent.is_default and agent.allow_payments
    assert list(agent.custom_tools.all()) == [tool] and list(agent.knowledge_bases.all()) == [kb]


def test_a_foreign_knowledge_base_posted_to_the_form_is_refused(owner_client: Client) -> None:
    foreign = KnowledgeBase.objects.create(organization=make_org("Other"), name="Theirs")
    response = owner_client.post(
        "/settings/developer/agents/new/",
        {
            "agent_key": "support",
            "display_name": "Support",
            "instructions": "Help.",
            "kb_mode": "selected",
            "kb_ids": [foreign.public_id],
            "enabled": "on",
        },
    )
    assert response.status_code == 400 and foreign.public_id in response.content.decode()
    assert not Agent.objects.exists()


def test_toggles_enable_disable_and_default_answer_with_the_table(owner_client: Client, org: Organization) -> None:
    a = agent_create(
        organization=org, agent_key="a", display_name="Alpha", instructions="A.", is_default=True, actor=None
    )
    b = agent_create(organization=org, agent_key="b", display_name="Beta", instructions="B.", actor=None)
    html = owner_client.post(
        f"/settings/developer/agents/{b.public_id}/toggle/", {"action": "make_default"}, headers=HTMX
    ).content.decode()
    assert html.lstrip().startswith('<div id="agent-table">') and "Beta is now the default greeter." in html
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.is_default, b.is_default) == (False, True)
    html = owner_client.post(
        f"/settings/developer/agents/{b.public_id}/toggle/", {"action": "disable"}, headers=HTMX
    ).content.decode()
    assert "is disabled, so the built-in AI agent greets every call" in html


def test_try_routing_shows_the_chosen_agent_and_why(
    owner_client: Client, viewer_client: Client, org: Organization
) -> None:
    agent_create(
        organization=org,
        agent_key="desk",
        display_name="Front desk",
        instructions="Greet.",
        is_default=True,
        actor=None,
    )
    agent_create(
        organization=org,
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["bill", "refund"],
        actor=None,
    )
    html = viewer_client.post(
        "/settings/developer/agents/route/", {"text": "I need a refund on my bills"}, headers=HTMX
    ).content.decode()
    assert "Front desk → Billing" in html and "score 2" in html and "refund" in html
    miss = owner_client.post("/settings/developer/agents/route/", {"text": "opening hours?"}, headers=HTMX)
    assert "Stays with Front desk" in miss.content.decode()
    assert owner_client.post("/settings/developer/agents/route/", {"text": " "}, headers=HTMX).status_code == 400


def test_per_agent_data_fields_are_added_and_deleted(owner_client: Client, org: Organization) -> None:
    agent = agent_create(
        organization=org, agent_key="billing", display_name="Billing", instructions="Bills.", actor=None
    )
    html = owner_client.post(
        "/settings/developer/agents/fields/new/",
        {
            "agent": agent.public_id,
            "label": "Invoice number",
            "key": "invoice_number",
            "type": "text",
            "required": "on",
        },
        headers=HTMX,
    ).content.decode()
    assert "Added the field Invoice number." in html and f'id="data-fields-{agent.public_id}"' in html
    field = DataCollectionField.objects.get()
    assert field.agent == agent and field.required
    bad = owner_client.post(
        "/settings/developer/agents/fields/new/", {"label": "Plan", "key": "plan", "type": "choice"}, headers=HTMX
    )
    assert bad.status_code == 400 and "choice field needs" in bad.content.decode()
    html = owner_client.post(
        f"/settings/developer/agents/fields/{field.public_id}/delete/", headers=HTMX
    ).content.decode()
    assert "Deleted the field Invoice number." in html and not DataCollectionField.objects.exists()


def test_pages_render_for_an_agent_with_fields(owner_client: Client, org: Organization) -> None:
    agent = agent_create(
        organization=org,
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["bill"],
        actor=None,
    )
    owner_client.post(
        "/settings/developer/agents/fields/new/",
        {"agent": agent.public_id, "label": "Invoice", "key": "invoice", "type": "text"},
    )
    page = owner_client.get(f"/settings/developer/agents/{agent.public_id}/").content.decode()
    assert "Data Billing collects" in page and "<code>invoice</code>" in page
    assert owner_client.get(f"/settings/developer/agents/{agent.public_id}/delete/").status_code == 200
    assert owner_client.post(f"/settings/developer/agents/{agent.public_id}/delete/").status_code == 302
    assert not Agent.objects.exists()


def test_a_schema_that_is_not_json_is_reported_with_every_other_fields_problem(owner_client: Client) -> None:
    form = {
        "name": "Bad Name",
        "description": "",
        "endpoint_url": "",
        "auth_type": "header",
        "auth_header_name": "Content-Type",
        "timeout_seconds": "10",
        "input_schema": '{"type": "object",}',
    }
    response = owner_client.post("/settings/developer/tools/new/", form)
    html = response.content.decode()
    assert response.status_code == 400
    errors = re.findall(r'<p class="error-text">(.*?)</p>', html)
    assert "Use snake_case: lowercase letters, digits and underscores" in " ".join(errors)  # name
    assert "Give the description." in errors
    assert "Give the public https URL the AI should call." in errors
    assert "Content-Type is set by AI Phone 360 on every call; choose another header." in errors
    assert "Give the secret to send." in errors
    # Python words the JSON problem itself (it varies by version); the sentence around it is ours.
    assert re.search(r"The input schema is not valid JSON: [a-z][^<]* \(line 1, column 1[89]\)\.", html)
    assert "This field is required." not in html  # the schema's "required" gives way to why it is not JSON
    assert not CustomTool.objects.exists()


def test_fields_state_their_limits_and_never_cut_input(owner_client: Client) -> None:
    html = owner_client.get("/settings/developer/tools/new/").content.decode()
    assert "maxlength" not in html
    assert 'data-limit-for="tool-description">Up to 1,024 characters.' in html
    long = owner_client.post(
        "/settings/developer/tools/new/",
        {
            "name": "ok_tool",
            "description": "d" * 1025,
            "endpoint_url": "https://a.example.com/x",
            "auth_type": "none",
            "timeout_seconds": "10",
            "input_schema": '{"type": "object"}',
        },
    )
    assert long.status_code == 400 and "At most 1024 characters." in long.content.decode()
    assert "d" * 1025 in long.content.decode()  # what was typed comes back whole, to shorten
