"""Issue 17 points 3 and 12: every dashboard page, seeded with realistic and deliberately long values, in real
Chromium at 1280 and 390 px. At 1280 no table overflows its container and every button is on screen; at
390 the page never scrolls sideways, tables scroll inside their own container with a visible cue, and
charts read. Each page is saved under test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.webhooks.receiver import Receiver

from .conftest import ARTIFACTS
from .dashboard_seed import LONG_DESCRIPTION, LONG_KEY_NAME, OWNER_EMAIL, PASSWORD, Seeded, seed_dashboard

SHOTS = ARTIFACTS / "screenshots"

# What a person checks by eye, measured: see the module docstring. `width` is the viewport's.
LAYOUT_PROBLEMS = """width => {
    const problems = [];
    const phone = width <= 760;
    const doc = document.scrollingElement;
    if (doc.scrollWidth > width) problems.push(`the page scrolls sideways (${doc.scrollWidth} px)`);
    const scroller = el => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return p;
        }
        return null;
    };
    const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    for (const table of document.querySelectorAll('main table')) {
        // Redoc draws the API reference's parameter tables in its own responsive layout.
        if (!shown(table) || table.closest('#redoc')) continue;
        const name = table.getAttribute('aria-label') || table.dataset.testid
            || (table.querySelector('th')?.textContent || '').trim();
        const box = scroller(table);
        if (!box && !phone && table.getBoundingClientRect().right > table.parentElement.getBoundingClientRect().right + 1) {
            problems.push(`table "${name}" is wider than its container`);
        }
        if (!box) { if (phone) problems.push(`table "${name}" is not inside a scroll container`); continue; }
        const overflow = box.scrollWidth - box.clientWidth;
        if (!phone && overflow > 1) problems.push(`table "${name}" overflows by ${overflow} px`);
        if (phone && overflow > 1 && !getComputedStyle(box).backgroundImage.includes('gradient')) {
            problems.push(`table "${name}" scrolls with no visible cue`);
        }
    }
    if (!phone) {
        for (const button of document.querySelectorAll('main .btn, main button')) {
            if (!shown(button)) continue;
            const r = button.getBoundingClientRect();
            const label = (button.getAttribute('aria-label') || button.textContent).trim();
            if (r.left < 0 || r.right > width) problems.push(`"${label}" is off screen (right ${Math.round(r.right)})`);
            const box = scroller(button);
            if (box && r.right > box.getBoundingClientRect().right + 1) problems.push(`"${label}" is clipped`);
        }
    }
    return problems;
}"""


def _pages(seeded: Seeded) -> list[tuple[str, str]]:
    base = "/settings/developer"
    endpoint = seeded.endpoint.public_id
    return [
        ("keys", f"{base}/keys/"),
        ("keys-all", f"{base}/keys/?show=all"),
        ("key-create", f"{base}/keys/new/"),
        ("logs", f"{base}/logs/"),
        ("log-detail", f"{base}/logs/{seeded.request_id}/"),
        ("webhooks", f"{base}/webhooks/"),
        ("webhook-endpoint", f"{base}/webhooks/{endpoint}/"),
        ("webhook-delivery", f"{base}/webhooks/{endpoint}/deliveries/{seeded.delivery.public_id}/"),
        ("tools", f"{base}/tools/"),
        ("tool-edit", f"{base}/tools/{seeded.tool.public_id}/"),
        ("invocations", f"{base}/tools/invocations/"),
        ("invocation", f"{base}/tools/invocations/{seeded.invocation_id}/"),
        ("agents", f"{base}/agents/"),
        ("agent-edit", f"{base}/agents/{seeded.agent_id}/"),
        ("usage", f"{base}/usage/?range=7d&metric=tool_invocations"),
        ("key-usage", f"{base}/usage/keys/{seeded.live_key.public_id}/?range=30d&metric=tool_invocations"),
        ("access", f"{base}/access/"),
        ("api-reference", f"{base}/docs/"),
        ("audit", f"{base}/audit/"),
        ("members", f"{base}/members/"),
        ("security", f"{base}/security/"),
        ("alerts", f"{base}/alerts/"),
    ]


def _assert_cut_with_full_text_on_hover(page: Any, selector: str, full_text: str) -> None:
    """Long text shows cut with an ellipsis, the whole of it in the title a pointer reveals."""
    element = page.locator(selector, has_text=full_text[:20]).first
    assert element.get_attribute("title") == full_text
    assert element.evaluate("el => getComputedStyle(el).textOverflow") == "ellipsis"
    assert element.evaluate("el => el.scrollWidth > el.clientWidth")  # actually cut


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_no_dashboard_page_overflows_and_every_page_is_photographed(
    browser: Any, live_server: Any, receiver: Receiver, width: int
) -> None:
    seeded = seed_dashboard(receiver_url=receiver.url.removesuffix("/hooks"), live_server_url=live_server.url)
    phone = width == 390
    context = browser.new_context(
        viewport={"width": width, "height": 844 if phone else 900}, is_mobile=phone, has_touch=phone
    )
    page = context.new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(OWNER_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/settings/developer/**")
        for name, path in _pages(seeded):
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (name, response and response.status)
            page.wait_for_load_state("networkidle")
            found = page.evaluate(LAYOUT_PROBLEMS, width)
            if found:
                problems[name] = found
            if name == "keys" and not phone:
                _assert_cut_with_full_text_on_hover(page, ".key-name.truncate", LONG_KEY_NAME)
            if name == "webhooks" and not phone:
                _assert_cut_with_full_text_on_hover(page, ".sub.truncate", LONG_DESCRIPTION)
            if name == "usage" and phone:
                # The By key table is wider than a phone: it scrolls inside its card, edge shadow showing.
                cues = page.locator(".table-wrap:has([data-testid=key-table])").evaluate(
                    "el => [el.scrollWidth > el.clientWidth, getComputedStyle(el).backgroundImage]"
                )
                assert cues[0] is True and cues[1].count("gradient") == 4, cues
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True, timeout=120_000)
    finally:
        context.close()
    assert problems == {}, "\n".join(f"{page}: {found}" for page, found in problems.items())
