"""Headless Chromium for the dashboard's browser tests (Playwright's sync API driving Debian's chromium).

Fixtures: `browser` (one per session), `page` (a fresh context per test, 1280×900) and `login_as`.
Screenshots go to test-artifacts/ (gitignored) through `screenshot(page, name)`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client

from tests.conftest import ensure_plans

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# The live server runs in a thread of this process, which Django's async-safety check would reject.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH", ""), *CHROMIUM_CANDIDATES):
        if candidate and os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every browser test is marked `browser` and runs with a transactional database (the live server
    thread must see committed rows). One policy for the whole directory: no `serialized_rollback`,
    because restoring serialized rows after another test's flush re-created content types fails with
    a unique-constraint error; seeded rows are put back by `_seeded_rows` instead."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(autouse=True)
def _seeded_rows(transactional_db: Any) -> None:
    """A transactional test truncates every table afterwards, rows seeded by migrations included."""

    ensure_plans()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("No Chromium installed (apt-get install chromium); browser tests need a real browser.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Playwright's own default: CI runs four workers with a Chromium each on two cores, where a page
    # load can take more than 10 s while the layout tests run beside it.
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login_as() -> Callable[[Any, str, str, str], None]:
    """`login_as(page, live_server_url, email, password)`: a signed-in browser on the dashboard's home page.

    The session is made server-side by Django's `login()` (the test client's, with the password checked
    by the same backends) and handed to the browser as its cookie: the page then lands where the sign-in
    form sends people. The sign-in form itself is tested in test_signin.py (and by the layout test and
    the phone-width test, which use it); going through it here cost every other test two page loads."""

    def _login(page: Any, live_server_url: str, email: str, password: str) -> None:
        client = Client()
        assert client.login(email=email, password=password), f"{email} cannot sign in with that password"
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server_url}])
        page.goto(live_server_url + resolve_url(settings.LOGIN_REDIRECT_URL))
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return _login


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Saves test-artifacts/<name>.png for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_until_gone(page: Any, text: str) -> None:
    """Wait (up to 5 s) until `text` is nowhere in the DOM, e.g. a secret after its dialog closed:
    the dialog's "close" event, which empties it, is dispatched as a task after close()."""
    page.wait_for_function("text => !document.documentElement.outerHTML.includes(text)", arg=text, timeout=5000)
