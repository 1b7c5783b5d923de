"""Fixtures for the OpenAPI tests: the generated document, a local webhook receiver, and a guard that
keeps every outbound connection of the app on this machine (fuzzed URLs must never reach the network)."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    """The OpenAPI document exactly as /api/public/v1/openapi.json serves it."""
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def _is_local(host: Any) -> bool:
    if host in ("localhost", "localhost.", None):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]").partition("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup or connection from this process to anything but loopback fails as unreachable.

    Schemathesis registers webhook endpoints and tools at URLs it makes up; the platform then tries
    to deliver to them. Those attempts must fail here, as they would for an unreachable host.
    """
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host.decode() if isinstance(host, bytes) else host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test: loopback only)")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise ConnectionRefusedError(f"test: no connections outside loopback ({address[0]})")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


class Receiver:
    """A local HTTPS-less receiver for webhook deliveries and tool calls: answers 200 `{"ok": true}`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, dict(self.headers), body))
                payload = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
