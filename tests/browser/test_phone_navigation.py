"""Issue 17 point 3 (part): at 390 px every Settings → Developer navigation item is on screen, none
scrolled out of sight, and the page does not scroll sideways."""

from __future__ import annotations

from typing import Any

from .conftest import screenshot

PASSWORD = "correct-horse-battery"


def test_every_navigation_item_is_visible_at_390_px(
    browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        links = page.get_by_role("navigation", name="Settings").get_by_role("link")
        assert links.count() >= 10
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (i, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "nav-390", full_page=False)
    finally:
        context.close()
