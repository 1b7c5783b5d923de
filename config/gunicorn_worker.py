"""Gunicorn's threaded worker with a bound on the requests each process holds: beyond it, 503 at once.

The stock gthread worker hands every readable connection to its thread pool's queue, which has no
bound: offered more than it can serve, requests wait minutes and clients time out. This worker
counts the requests queued or running in its pool; when a connection becomes readable (a new
request, on a new or a kept-alive connection) and the count is at `WEB_MAX_IN_FLIGHT` (default:
twice the threads), the main thread answers 503 itself (`developer.overload.refusal`: the API's
envelope with `Retry-After`, or the dashboard's page) without entering Django. A full process also
answers a new connection's request as it accepts it when the request is already there, which saves the
refused request a trip through the poller. A refused request that came whole and without a body on
an HTTP/1.1 connection keeps its connection (`Connection: keep-alive`), as a served one would, so the
retry costs neither side a new connection; any other refusal closes it. Accepted requests
therefore wait behind at most one request per thread, and a refusal costs microseconds, so the
threads keep serving at full speed while the excess is turned away.

Refusals are not logged one by one (a log line per refusal is load of its own; a pipe nobody reads
blocks the process): the worker logs a count at most every `_LOG_EVERY` seconds, and counts them in
`aip_http_requests_shed_total`.
"""

from __future__ import annotations

import errno
import os
import selectors
import sys
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker  # type: ignore[import-untyped]

from core.metrics import REQUESTS_SHED
from developer.overload import ALWAYS_SERVED, refusal

_LOG_EVERY = 10.0  # seconds
_SWITCH_INTERVAL = 0.0005  # seconds
_HEAD = 8192  # bytes read to find the request line


def reusable_after(data: bytes) -> bool:
    """Whether a connection is still in step once the request in `data` is answered: the whole request,
    without a body and with nothing after it, from an HTTP/1.1 client that did not ask to close."""
    head, end, rest = data.partition(b"\r\n\r\n")
    if not end or rest:
        return False
    request_line, *lines = head.split(b"\r\n")
    if not request_line.endswith(b" HTTP/1.1"):
        return False
    for line in lines:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return False
        if name == b"connection" and b"close" in value:
            return False
    return True


class SheddingWorker(ThreadWorker):
    def init_process(self) -> None:
        self.max_in_flight = int(os.environ.get("WEB_MAX_IN_FLIGHT") or 2 * max(1, int(self.cfg.threads)))
        self.shed_since_log = 0
        self.shed_logged_at = time.monotonic()
        # The main thread accepts, dispatches and refuses; while the threads run Python it waits for
        # the GIL at every socket call, up to the switch interval (5 ms) each time. A shorter interval
        # keeps it feeding the threads and refusing promptly (bench/overload.py: more goodput under load).
        sys.setswitchinterval(_SWITCH_INTERVAL)
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        refusal(b"/")  # renders the page now (Django is set up): a template error shows at boot, not under load

    def full(self) -> bool:
        # Finished futures stay in `futures` until the main loop collects them: count the ones still
        # queued or running.
        return sum(not future.done() for future in self.futures) >= self.max_in_flight

    def accept(self, server: Any, listener: Any) -> None:
        # A full process refuses a new connection's request as it accepts it, when the request has
        # already arrived (clients send right after connecting): one trip through the main loop and
        # the poller instead of two, on the path every refused request takes.
        if not self.full():
            super().accept(server, listener)
            return
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        if self.refuse(conn):
            return
        if conn.initialized:  # a probe, read already: to the threads, as from enqueue_req
            super().enqueue_req(conn)
            return
        with self._lock:  # nothing to read yet: wait for the request like any connection
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def enqueue_req(self, conn: Any) -> None:
        # Runs on the main thread, for every request on a connection that became readable.
        if self.full() and self.refuse(conn):
            return
        super().enqueue_req(conn)

    def refuse(self, conn: Any) -> bool:
        """Answer 503 to the request waiting on `conn`; False leaves it to be served after all."""
        if self.cfg.is_ssl or (conn.parser is not None and conn.parser.unreader.buf.tell()):
            return False  # TLS, or bytes already buffered by the parser: only the parser can read them
        try:
            data = conn.sock.recv(_HEAD)  # the socket is non-blocking here
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:  # the client has gone
            self.close(conn)
            return True
        request_line = data.split(b"\r\n", 1)[0].split(b" ")
        if len(request_line) != 3 or request_line[1].startswith(ALWAYS_SERVED):
            # A probe, or an odd request the parser will answer: served after all, from the bytes read.
            conn.init()
            conn.parser.unreader.unread(data)
            return False
        # Kept alive when the connection is in step (a whole request without a body): neither side then
        # pays a new connection for the retry, about a seventh of two cores at twice the sustainable rate
        # (bench/overload.py). Otherwise closed: a body still arriving would be read as the next request.
        keep = self.cfg.keepalive > 0 and reusable_after(data)
        try:
            conn.sock.send(refusal(request_line[1], keep_alive=keep))  # a few hundred bytes: fits the send buffer
        except OSError:
            keep = False
        self.count_shed()
        if keep:
            self.keep(conn)
        else:
            self.close(conn)
        return True

    def keep(self, conn: Any) -> None:
        """Back to the poller for the connection's next request, as gthread's finish_request does."""
        if not conn.initialized:
            conn.init()  # initialised, its next request takes it off the keep-alive list (on_client_socket_readable)
        conn.sock.setblocking(False)
        conn.set_timeout()
        with self._lock:
            self._keep.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def close(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()

    def count_shed(self) -> None:
        REQUESTS_SHED.inc()
        self.shed_since_log += 1
        now = time.monotonic()
        if now - self.shed_logged_at >= _LOG_EVERY:
            self.log.warning(
                "Shed %d requests in %.0f s: %d in flight (WEB_MAX_IN_FLIGHT)",
                self.shed_since_log,
                now - self.shed_logged_at,
                self.max_in_flight,
            )
            self.shed_since_log, self.shed_logged_at = 0, now
