"""Fixtures for custom tools and agents: a real local HTTP tool endpoint and a tool pointing at it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Organization
from agents.models import CustomTool
from agents.services import tool_create
from tests.webhooks.receiver import Receiver, Reply

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "orderNumber": {"type": "string", "minLength": 3, "description": "The order number"},
        "zipCode": {"type": "string"},
    },
    "required": ["orderNumber"],
    "additionalProperties": False,
}
TOKEN = "tok_live_9f8e7d6c5b4a3921"


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 (OUTBOUND_ALLOW_LOOPBACK is on under pytest), answering
    each request with the next scripted Reply."""
    server = Receiver()
    server.default = Reply(
        status=200, body=b'{"status": "shipped", "eta": "2026-07-02"}', headers={"Content-Type": "application/json"}
    )
    yield server
    server.close()


@pytest.fixture
def hold() -> Iterator[threading.Event]:
    """An event a slow reply waits on; set at teardown so the server thread ends."""
    event = threading.Event()
    yield event
    event.set()


def make_tool(organization: Organization, url: str, **overrides: Any) -> CustomTool:
    fields = {
        "name": "lookup_order",
        "description": "Looks up an order by its number.",
        "input_schema": ORDER_SCHEMA,
        "endpoint_url": url,
        "auth": {"type": "bearer", "token": TOKEN},
        **overrides,
    }
    return tool_create(organization=organization, actor=None, **fields)


@pytest.fixture
def tool(org: Organization, endpoint: Receiver) -> CustomTool:
    return make_tool(org, endpoint.url)
