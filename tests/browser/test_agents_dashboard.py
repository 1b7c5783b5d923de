"""The agents dashboard in real headless Chromium: hint chips, pickers limited to the business's own tools and
knowledge, the default toggle, enable/disable, per-agent data fields, the Try routing box, viewers, no-JS."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditEntry
from agents.models import Agent, DataCollectionField
from agents.services import agent_create, tool_create
from phone.models import KnowledgeBase
from tests.conftest import make_org

from .conftest import screenshot

PASSWORD = "correct-horse-battery"
SCHEMA = {"type": "object", "properties": {"invoice": {"type": "string"}}}


def _tool(org: Any, name: str) -> Any:
    return tool_create(
        organization=org,
        actor=None,
        name=name,
        description=f"{name} tool",
        input_schema=SCHEMA,
        endpoint_url=f"https://tools.example.com/{name}",
    )


def test_owner_builds_a_greeter_and_a_specialist_and_tries_routing(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    lookup = _tool(org, "lookup_invoice")
    _tool(org, "refund_order")
    invoices_kb = KnowledgeBase.objects.create(organization=org, name="Billing FAQ")
    other = make_org("Someone Else")
    _tool(other, "their_secret_tool")
    KnowledgeBase.objects.create(organization=other, name="Their private KB")
    agent_create(
        organization=org,
        actor=None,
        agent_key="desk",
        display_name="Front desk",
        instructions="Greet callers and route them.",
    )

    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/agents/")
    page.get_by_test_id("greeter-status").get_by_text("No agent is marked as the default greeter").wait_for()
    page.get_by_role("link", name="+ New agent").click()
    page.get_by_role("heading", name="New agent").wait_for()
    assert "their_secret_tool" not in page.content() and "Their private KB" not in page.content()

    page.get_by_label("Display name").fill("Billing")
    page.get_by_label("Agent key").fill("billing")
    page.get_by_label("Instructions").fill("You handle billing. Collect the invoice number.")
    hint_box = page.get_by_role("textbox", name="Match hints")
    for hint in ("bill", "invoice", "typo"):
        hint_box.fill(hint)
        hint_box.press("Enter")  # adds a chip, does not submit the form
        page.get_by_test_id("hint-chips").get_by_text(hint, exact=True).wait_for()
        hint_box = page.get_by_role("textbox", name="Match hints")
    page.get_by_role("button", name="Remove hint typo").click()
    page.wait_for_function("() => !document.querySelector('[aria-label=\"Remove hint typo\"]')")
    page.get_by_role("textbox", name="Match hints").fill("refund, charged twice")
    page.get_by_role("button", name="Add hint").click()
    page.get_by_test_id("hint-chips").get_by_text("charged twice", exact=True).wait_for()
    assert not Agent.objects.filter(agent_key="billing").exists()  # chips never save on their own

    page.locator("input[name=tools_mode][value=selected]").check()
    page.get_by_text("lookup_invoice", exact=True).click()
    page.locator("input[name=kb_mode][value=selected]").check()
    page.get_by_text("Billing FAQ", exact=True).click()
    page.get_by_text("Send payment links").click()
    screenshot(page, "agent-editor")
    page.get_by_role("button", name="Create agent").click()

    page.get_by_text("Created the agent Billing.").wait_for()
    billing = Agent.objects.get(organization=org, agent_key="billing")
    assert billing.match_hints == ["bill", "invoice", "refund", "charged twice"]
    assert list(billing.custom_tools.all()) == [lookup] and list(billing.knowledge_bases.all()) == [invoices_kb]
    assert billing.allow_payments and not billing.is_default

    # The default toggle on the list moves the greeter badge, atomically.
    desk = Agent.objects.get(agent_key="desk")
    # Make default and Disable ask first, naming the consequence (accepted here).
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Make Front desk the default").click()
    page.get_by_text("Front desk is now the default greeter.").wait_for()
    assert questions[-1].startswith("Make Front desk the default greeter? From the next call on it answers every call")
    page.get_by_test_id("greeter-status").get_by_text("Front desk greets every call").wait_for()
    assert "Default greeter" in page.locator("#agent-row-desk").inner_text()
    page.get_by_role("button", name="Make Billing the default").click()
    page.get_by_text("Billing is now the default greeter.").wait_for()
    assert list(Agent.objects.filter(is_default=True)) == [billing]
    page.get_by_role("button", name="Make Front desk the default").click()
    page.get_by_text("Front desk is now the default greeter.").wait_for()

    # Try routing: the chosen agent and why.
    page.get_by_label("What the caller says").fill("Hi, I was CHARGED TWICE on my bills!")
    page.get_by_role("button", name="Route").click()
    result = page.get_by_test_id("routing-result")
    result.get_by_text("Front desk → Billing").wait_for()
    assert "score 3" in result.inner_text() and "charged twice" in result.inner_text()
    screenshot(page, "agents-routing")
    page.get_by_label("What the caller says").fill("What time do you open?")
    page.get_by_role("button", name="Route").click()
    result.get_by_text("Stays with Front desk").wait_for()

    # Disabling the default greeter says what happens instead.
    page.get_by_role("button", name="Disable Front desk").click()
    assert "without a default greeter your single built-in agent answers every call" in questions[-1]
    page.get_by_test_id("greeter-status").get_by_text(
        "is disabled, so the built-in AI agent greets every call"
    ).wait_for()
    desk.refresh_from_db()
    assert not desk.enabled and desk.is_default
    page.get_by_role("button", name="Enable Front desk").click()
    page.get_by_test_id("greeter-status").get_by_text("Front desk greets every call").wait_for()
    screenshot(page, "agents-list")

    # Per-agent data fields.
    page.get_by_role("link", name="Billing", exact=True).click()
    page.get_by_role("heading", name="Data Billing collects").wait_for()
    fields = page.get_by_test_id("data-fields")
    fields.get_by_label("Label").fill("Invoice number")
    fields.get_by_label("Key").fill("invoice_number")
    fields.get_by_label("Required").check()
    fields.get_by_role("button", name="Add field").click()
    page.get_by_text("Added the field Invoice number.").wait_for()
    field = DataCollectionField.objects.get(agent=billing)
    assert field.key == "invoice_number" and field.required
    page.get_by_test_id("data-fields").get_by_label("Label").fill("Plan")
    page.get_by_test_id("data-fields").get_by_label("Key").fill("plan")
    page.get_by_test_id("data-fields").get_by_label("Type").select_option("choice")
    page.get_by_test_id("data-fields").get_by_role("button", name="Add field").click()
    page.get_by_text("A choice field needs at least one choice.").wait_for()
    page.get_by_test_id("data-fields").get_by_label("Choices (for Choice)").fill("Basic, Pro")
    page.get_by_test_id("data-fields").get_by_role("button", name="Add field").click()
    page.get_by_text("Added the field Plan.").wait_for()
    assert DataCollectionField.objects.get(key="plan").choices == ["Basic", "Pro"]
    screenshot(page, "agent-data-fields")
    page.get_by_role("button", name="Delete field Invoice number").click()
    page.get_by_text("Deleted the field Invoice number.").wait_for()
    assert not DataCollectionField.objects.filter(key="invoice_number").exists()

    actions = set(AuditEntry.objects.filter(organization=org).values_list("action", flat=True))
    assert {
        "agent.created",
        "agent.updated",
        "agent.default_changed",
        "data_field.created",
        "data_field.deleted",
    } <= actions


def test_form_errors_name_the_problem_and_keep_the_chips(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    agent_create(organization=org, actor=None, agent_key="billing", display_name="Billing", instructions="Bills.")
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/agents/new/")
    page.get_by_label("Display name").fill("Billing two")
    page.get_by_label("Agent key").fill("billing")
    page.get_by_role("textbox", name="Match hints").fill("refund")
    page.get_by_role("button", name="Create agent").click()
    page.get_by_text("An agent with key billing already exists in this business.").wait_for()
    page.get_by_text("Give the agent's instructions.").wait_for()
    page.get_by_test_id("hint-chips").get_by_text("refund", exact=True).wait_for()  # nothing typed is lost


def test_viewers_read_agents_and_try_routing_but_cannot_change_anything(
    page: Any, live_server: Any, login_as: Any, org: Any, viewer: Any
) -> None:
    agent = agent_create(
        organization=org,
        actor=None,
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["bill"],
    )
    login_as(page, live_server.url, "viewer@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/agents/")
    assert page.get_by_role("link", name="+ New agent").count() == 0
    assert page.get_by_role("button", name="Disable Billing").count() == 0
    page.get_by_label("What the caller says").fill("my bill")
    page.get_by_role("button", name="Route").click()
    page.get_by_test_id("routing-result").get_by_text("→ Billing").wait_for()
    page.goto(f"{live_server.url}/settings/developer/agents/{agent.public_id}/")
    assert page.get_by_label("Display name").is_disabled()
    assert page.get_by_role("button", name="Save agent").count() == 0
    assert page.get_by_role("button", name="Add field").count() == 0


def test_agent_pages_work_without_javascript(
    browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    agent_create(
        organization=org,
        actor=None,
        agent_key="desk",
        display_name="Front desk",
        instructions="Greet.",
        is_default=True,
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.goto(f"{live_server.url}/settings/developer/agents/new/")
        page.get_by_label("Display name").fill("Support")
        page.get_by_label("Agent key").fill("support")
        page.get_by_label("Instructions").fill("Product support.")
        page.get_by_role("textbox", name="Match hints").fill("broken, repair")
        page.get_by_role("button", name="Add hint").click()  # a full-page round trip
        page.get_by_test_id("hint-chips").get_by_text("repair", exact=True).wait_for()
        assert page.get_by_label("Display name").input_value() == "Support"
        page.get_by_role("button", name="Create agent").click()
        page.get_by_text("Created the agent Support.").wait_for()
        assert Agent.objects.get(agent_key="support").match_hints == ["broken", "repair"]

        page.get_by_role("button", name="Make Support the default").click()
        page.get_by_text("Support is now the default greeter.").wait_for()
        page.get_by_label("What the caller says").fill("it's broken")
        page.get_by_role("button", name="Route").click()
        page.get_by_test_id("routing-result").get_by_text("Stays with Support").wait_for()  # the greeter itself
    finally:
        context.close()
