"""Dashboard forms in real headless Chromium: every field's problem at once in plain sentences, limits
stated before they are hit (and input never cut short), and the usage page explaining a bad range."""

from __future__ import annotations

from typing import Any

import pytest

from agents.models import CustomTool
from developer.models import ApiKey

from .conftest import screenshot

PASSWORD = "correct-horse-battery"


def open_page(browser: Any, live_server: Any, *, width: int = 1280, javascript: bool = True) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


@pytest.mark.parametrize(("width", "javascript"), [(1280, True), (390, True), (1280, False)])
def test_the_tool_editor_shows_every_problem_at_once_in_sentences(
    browser: Any, live_server: Any, org: Any, owner: Any, width: int, javascript: bool
) -> None:
    page = open_page(browser, live_server, width=width, javascript=javascript)
    page.goto(f"{live_server.url}/settings/developer/tools/new/")
    page.get_by_label("Name", exact=True).fill("Lookup Order")
    page.get_by_label("Description").fill("")
    page.get_by_label("Input schema (JSON Schema)").fill('{"type": "object", "properties": {"a": {"type": "strin"}},}')
    page.get_by_label("Endpoint URL").fill("")
    page.get_by_role("button", name="Create tool").click()
    page.get_by_text("Check the fields marked below.").wait_for()

    errors = [e.strip() for e in page.locator(".error-text, #schema-feedback li, #schema-feedback p").all_inner_texts()]
    text = "\n".join(errors)
    assert "Use snake_case" in text  # the name
    assert "Give the description." in text
    assert "Give the public https URL the AI should call." in text
    assert "The input schema is not valid JSON: " in text and "(line 1, column" in text
    for sentence in errors:
        if sentence:
            assert sentence[0].isupper() or sentence[0] in '“"', sentence
    # What was typed comes back as typed.
    assert page.get_by_label("Name", exact=True).input_value() == "Lookup Order"
    for box in (page.locator(".error-text").nth(i).bounding_box() for i in range(page.locator(".error-text").count())):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    screenshot(page, f"tool-form-errors-{width}{'' if javascript else '-nojs'}", full_page=True)

    # Fixed JSON, a schema the metaschema refuses: the problem is a sentence naming the spot.
    page.get_by_label("Input schema (JSON Schema)").fill('{"type": "object", "properties": {"a": {"type": "strin"}}}')
    page.get_by_role("button", name="Create tool").click()
    page.get_by_text("“properties.a.type” in the schema must be one of the JSON Schema types").first.wait_for()
    assert not CustomTool.objects.exists()
    page.context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_name_past_its_limit_is_not_cut_the_count_says_so_and_the_server_refuses_it(
    browser: Any, live_server: Any, org: Any, owner: Any, javascript: bool
) -> None:
    page = open_page(browser, live_server, javascript=javascript)
    page.goto(f"{live_server.url}/settings/developer/keys/new/")
    name = page.get_by_label("Name")
    limit_line = page.locator('[data-limit-for="key-name"]')
    assert limit_line.inner_text() == "Up to 100 characters."
    assert name.get_attribute("maxlength") is None
    name.fill("x" * 105)
    assert name.input_value() == "x" * 105  # the browser did not cut it
    if javascript:
        assert limit_line.inner_text() == "105 characters: 5 over the limit of 100."
        screenshot(page, "key-name-over-limit", full_page=False)
        name.fill("x" * 100)
        assert limit_line.inner_text() == "Up to 100 characters."
        name.fill("x" * 105)
    page.get_by_role("button", name="Create key").click()
    page.get_by_text("At most 100 characters.").wait_for()
    assert page.get_by_label("Name").input_value() == "x" * 105
    assert not ApiKey.objects.exists()
    page.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_usage_page_explains_a_range_it_cannot_show_as_asked(
    browser: Any, live_server: Any, org: Any, owner: Any, width: int
) -> None:
    page = open_page(browser, live_server, width=width)
    page.goto(f"{live_server.url}/settings/developer/usage/?range=custom&from=2026-01-20&to=2026-01-10")
    alert = page.locator(".usage-error")
    assert alert.inner_text() == "“From” was after “To”, so the two dates were swapped."
    assert page.get_by_label("From (UTC)").input_value() == "2026-01-10"
    assert page.get_by_label("To (UTC)").input_value() == "2026-01-20"
    page.get_by_text("At most 366 days, up to today (UTC).").wait_for()
    page.locator(".usage-controls").scroll_into_view_if_needed()
    screenshot(page, f"usage-range-explained-{width}", full_page=False)

    page.goto(f"{live_server.url}/settings/developer/usage/?range=custom&from=someday&to=2026-01-10")
    assert alert.inner_text().startswith("“From” is not a date: use YYYY-MM-DD")
    page.context.close()
