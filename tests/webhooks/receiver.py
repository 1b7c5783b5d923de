"""A real local HTTP receiver for webhook tests: records every request, answers as scripted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # Set to make the receiver hold the request open until the test sets it (timeouts, kills).
    wait_for: threading.Event | None = None


class Receiver:
    """Answers each request with the next scripted Reply, then with ``default``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.routes: dict[str, Reply] = {}  # a fixed answer for one path, whatever the script says
        self.arrived = threading.Condition()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    if self.path in receiver.routes:
                        reply = receiver.routes[self.path]
                    else:
                        reply = receiver.script.pop(0) if receiver.script else receiver.default
                received = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver.arrived:
                    receiver.requests.append(received)
                    receiver.arrived.notify_all()
                if reply.wait_for is not None:
                    reply.wait_for.wait(30)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def wait_for_requests(self, count: int, timeout: float = 30) -> list[Received]:
        """Block until ``count`` requests arrived (for tests whose sender is another process)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} requests, received {len(self.requests)}")
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


ReceiverFactory = Callable[[], Receiver]
