"""Copy buttons, pretty JSON and the Quickstart in real headless Chromium: what a click puts on the
clipboard, payloads and headers indented, whole secrets at phone width, the page without JavaScript,
and the Quickstart's snippets run as copied (curl, the Python SDK, the Node SDK) against the live server."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from demo.simulator import simulate_traffic
from developer.models import ApiKey
from tests.webhooks.receiver import Receiver
from webhooks import delivery as engine
from webhooks.events import emit
from webhooks.models import Attempt, Delivery
from webhooks.services import endpoint_create

from .conftest import screenshot

PASSWORD = "correct-horse-battery"
ROOT = Path(__file__).resolve().parents[2]
PY_SDK = ROOT / "sdks" / "python" / "src"
TS_DIR = ROOT / "sdks" / "typescript"
CALLS = 3


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def clipboard_page(browser: Any, live_server: Any, *, width: int = 1280, javascript: bool = True) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    if javascript:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    return context.new_page()


def copy(page: Any, label: str) -> str:
    """Click the copy button with this accessible name; the clipboard's text once it says "Copied"."""
    button = page.get_by_role("button", name=label)
    button.click()
    # The shared component's status sits next to its button; a secret panel has one #copy-status.
    beside = button.locator("xpath=following-sibling::*[contains(@class, 'copy-status')]")
    (beside if beside.count() else page.locator("#copy-status")).get_by_text("Copied").wait_for()
    return str(page.evaluate("navigator.clipboard.readText()"))


def login(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


# --- the Quickstart --------------------------------------------------------------------------------------


@pytest.fixture
def quickstart_page(browser: Any, live_server: Any, org: Any, owner: Any) -> Iterator[tuple[Any, str]]:
    """Signed in, with test-mode calls to list, after "Create a test key for the quickstart"."""
    simulate_traffic(organization=org, calls=CALLS, rng=random.Random(3), mode="test")
    page = clipboard_page(browser, live_server)
    login(page, live_server)
    page.goto(f"{live_server.url}/settings/developer/keys/")
    page.get_by_role("button", name="Create a test key for the quickstart").click()
    page.get_by_test_id("quickstart-note").get_by_text("will not be shown again").wait_for()
    secret = page.locator("#new-secret").input_value()
    yield page, secret
    page.context.close()


def test_quickstart_curl_as_copied_lists_the_calls_of_this_server_with_the_new_test_key(
    quickstart_page: tuple[Any, str], live_server: Any, org: Any
) -> None:
    page, secret = quickstart_page
    key = ApiKey.objects.get(organization=org, name="Quickstart")
    assert key.mode == "test" and secret.startswith("aip_test_")
    page.locator("#quickstart").scroll_into_view_if_needed()
    screenshot(page, "quickstart-created-1280")

    curl = copy(page, "Copy the curl example")
    assert curl == page.get_by_test_id("quickstart-curl").inner_text()
    assert f"{live_server.url}/api/public/v1/calls?limit=5" in curl and secret in curl
    result = subprocess.run(["bash", "-c", curl + " --silent --show-error"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["data"]) == CALLS

    # Reloaded, the page no longer has the secret: the snippets carry the key's masked form and say so.
    page.goto(f"{live_server.url}/settings/developer/keys/")
    assert secret not in page.content()
    assert key.masked in page.get_by_test_id("quickstart-curl").inner_text()
    page.get_by_test_id("quickstart-note").get_by_text("Replace").wait_for()
    assert page.get_by_label("Test key").input_value() == key.public_id

    # At phone width each snippet scrolls inside its own block; the page itself does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 900})
    page.locator("#quickstart").scroll_into_view_if_needed()
    for slug in ("curl", "node", "python"):
        box = page.get_by_test_id(f"quickstart-{slug}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (slug, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "quickstart-390")


def test_quickstart_python_as_copied_runs_with_the_sdk(quickstart_page: tuple[Any, str], tmp_path: Path) -> None:
    page, _ = quickstart_page
    script = copy(page, "Copy the Python example")
    (tmp_path / "quickstart.py").write_text(script)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(PY_SDK)}
    result = subprocess.run(
        [sys.executable, "quickstart.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{CALLS} call(s) listed with a test key"


def test_quickstart_node_as_copied_runs_with_the_sdk(quickstart_page: tuple[Any, str], tmp_path: Path) -> None:
    if shutil.which("node") is None or not (TS_DIR / "node_modules" / "typescript").exists():
        pytest.skip("Node.js and the TypeScript SDK's dev dependencies are needed to build @aiphone360/sdk")
    from tests.sdks.conftest import typescript_build_lock

    page, _ = quickstart_page
    script = copy(page, "Copy the Node.js example")
    (tmp_path / "quickstart.mjs").write_text(script)
    # `import ... from "@aiphone360/sdk"` resolves to this repository's package, built as npm would ship it.
    (tmp_path / "node_modules" / "@aiphone360").mkdir(parents=True)
    (tmp_path / "node_modules" / "@aiphone360" / "sdk").symlink_to(TS_DIR)
    with typescript_build_lock():
        subprocess.run(["node", "scripts/build.mjs"], cwd=TS_DIR, check=True, timeout=300, capture_output=True)
        result = subprocess.run(
            ["node", "quickstart.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env={"PATH": os.environ.get("PATH", "")},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{CALLS} call(s) listed with a test key"


# --- copy buttons and pretty JSON on a delivery ------------------------------------------------------------


@pytest.fixture
def delivery(org: Any, owner: Any, receiver: Receiver, monkeypatch: Any) -> Delivery:
    monkeypatch.setattr(engine, "enqueue_turn", lambda **kwargs: False)  # nothing leaves by itself here
    monkeypatch.setattr("webhooks.events.enqueue_fanout", lambda **kwargs: None)
    endpoint, _ = endpoint_create(organization=org, url=receiver.url + "/hooks", events=["*"], actor=None)
    event = emit(organization=org, type="call.completed", data={"callId": "call_1", "summary": "Booked"}, mode="live")
    row = Delivery.objects.get(endpoint=endpoint, event=event)
    now = timezone.now()
    Attempt.objects.create(
        delivery=row, number=1, request_url=endpoint.url,
        # Headers kept as sent (an override), so the copied text below is known exactly.
        request_headers_override={"Content-Type": "application/json", "X-AIP-Signature": "t=1,v1=abc"},
        response_status=200, response_headers={"Content-Type": "application/json"},
        response_body_excerpt='{"received":true}', succeeded=True, duration_ms=12, queued_ms=3,
        started_at=now, finished_at=now,
    )  # fmt: skip
    Delivery.objects.filter(pk=row.pk).update(status="succeeded", attempt_count=1)
    return row


@pytest.mark.parametrize("width", [1280, 390])
def test_delivery_ids_payload_and_headers_copy_as_shown_indented(
    browser: Any, live_server: Any, delivery: Delivery, width: int
) -> None:
    page = clipboard_page(browser, live_server, width=width)
    login(page, live_server)
    page.goto(
        f"{live_server.url}/settings/developer/webhooks/{delivery.endpoint.public_id}/deliveries/{delivery.public_id}/"
    )

    payload = page.locator("#event-payload").inner_text()
    assert json.loads(payload) == json.loads(delivery.event.body)
    assert '\n  "' in payload  # indented, not the compact wire bytes
    assert copy(page, "Copy the event payload") == payload
    assert copy(page, "Copy the delivery id") == delivery.public_id
    assert copy(page, "Copy the event id") == delivery.event.public_id
    headers = copy(page, "Copy the request headers")
    assert headers == "Content-Type: application/json\nX-AIP-Signature: t=1,v1=abc"
    assert json.loads(copy(page, "Copy the response body")) == {"received": True}
    # Only the latest click says "Copied".
    assert page.locator(".copy-status", has_text="Copied").count() == 1

    for button in page.locator("button.copy-button").all():
        box = button.bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width, box
    screenshot(page, f"delivery-copy-{width}")
    page.context.close()


def test_without_javascript_there_is_no_dead_copy_button_and_the_text_is_there_to_select(
    browser: Any, live_server: Any, delivery: Delivery
) -> None:
    page = clipboard_page(browser, live_server, javascript=False)
    login(page, live_server)
    page.goto(
        f"{live_server.url}/settings/developer/webhooks/{delivery.endpoint.public_id}/deliveries/{delivery.public_id}/"
    )
    assert page.locator("button.copy-button").count() >= 6
    assert page.locator("button.copy-button:visible").count() == 0
    assert json.loads(page.locator("#event-payload").inner_text()) == json.loads(delivery.event.body)
    page.context.close()


def test_revealed_webhook_secret_is_shown_whole_at_phone_width_and_copies(
    browser: Any, live_server: Any, delivery: Delivery
) -> None:
    page = clipboard_page(browser, live_server, width=390)
    login(page, live_server)
    page.goto(f"{live_server.url}/settings/developer/webhooks/{delivery.endpoint.public_id}/")
    page.get_by_role("button", name="Reveal secret").click()
    field = page.locator("#endpoint-secret")
    field.wait_for()
    secret = field.input_value()
    assert secret.startswith("whsec_")
    # Nothing hidden behind a scroll: the box is as wide and as tall as its text, inside the screen.
    fits = field.evaluate("el => [el.scrollWidth <= el.clientWidth, el.scrollHeight <= el.clientHeight + 1]")
    assert fits == [True, True]
    box = field.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert copy(page, "Copy the signing secret") == secret
    screenshot(page, "webhook-secret-390", full_page=False)
    page.context.close()


# --- the tool invocation log ------------------------------------------------------------------------------


def test_invocation_request_and_response_copy_as_shown(browser: Any, live_server: Any, org: Any, owner: Any) -> None:
    from agents.models import ToolInvocation

    now = timezone.now()
    invocation = ToolInvocation.objects.create(
        invocation_id="inv_copy_1", organization=org, tool_name="lookup_order", mode="live", source="dashboard",
        arguments={"orderNumber": "A-1042"}, status="succeeded", request_url="https://shop.example.com/lookup",
        request_headers={"Content-Type": "application/json", "Authorization": "Bearer ••••9f2c"},
        request_body='{"tool":"lookup_order","arguments":{"orderNumber":"A-1042"}}', response_status=200,
        response_excerpt='{"status":"shipped","eta":"2026-12-05"}', response_bytes=38, latency_ms=42,
        created_at=now, started_at=now, finished_at=now,
    )  # fmt: skip
    page = clipboard_page(browser, live_server, width=390)
    login(page, live_server)
    page.goto(f"{live_server.url}/settings/developer/tools/invocations/{invocation.public_id}/")
    assert copy(page, "Copy the invocation id") == invocation.public_id
    body = copy(page, "Copy the response body")
    assert body == page.get_by_test_id("response-body").inner_text()
    assert json.loads(body) == {"status": "shipped", "eta": "2026-12-05"} and '\n  "' in body
    headers = json.loads(copy(page, "Copy the request headers"))
    assert headers["Authorization"] == "Bearer ••••9f2c"  # masked, as stored
    assert json.loads(copy(page, "Copy the request body"))["arguments"] == {"orderNumber": "A-1042"}
    screenshot(page, "invocation-copy-390")
    page.context.close()
