"""Many outbound POSTs at once on one thread: how the webhook engine sends.

`core.outbound.post` waits for one exchange on the calling thread. A turn of the delivery engine sends
up to its cap for every endpoint at once, and on a thread each a busy worker held hundreds of threads
that handed the interpreter lock to one another at every socket call: about 24 context switches and
0.7 ms of CPU per request, against 0.4 ms for the same requests driven from one thread (README,
"Delivery engine"). Here one thread per process drives every exchange with non-blocking sockets and a
selector (connect, TLS handshake, send, read, each step when its socket is ready) and enforces each
request's deadline itself, so a receiver that hangs holds a socket, never a thread.

The policy is outbound's, unchanged: the URL checked (`outbound._checked_target`), the caller's
headers validated, a name resolved once and every address checked before connecting (on a throwaway
thread per lookup, as `post` does: `getaddrinfo` cannot be made non-blocking or interrupted), the socket
connected to the checked address itself, TLS verified for the host name, redirects returned, the
response capped and `timeout` a hard deadline for the whole exchange, DNS included. `submit` returns a
`concurrent.futures.Future` that ends with the `OutboundResponse`, or with the `OutboundRefused` or
`OutboundError` that `post` would raise; `outbound.observers` see every request as they do with `post`.

One sender per process, started on first use (after a fork, the child starts its own: threads do not
survive a fork). Callbacks added to a future run on the sender's thread: they must be quick.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import logging
import os
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from . import outbound
from .outbound import IPAddress, OutboundError, OutboundRefused, OutboundResponse

logger = logging.getLogger(__name__)

# What each exchange waits for, in order.
_RESOLVING, _CONNECTING, _HANDSHAKING, _SENDING, _READING = range(5)


class _Exchange:
    """One POST in flight: its state, socket, bytes still to send and the response read so far."""

    __slots__ = (
        "deadline",
        "done",
        "events",
        "finishes",
        "future",
        "max_bytes",
        "out",
        "parser",
        "peer",
        "sock",
        "started",
        "state",
        "target",
        "timeout",
        "wanted",
    )

    def __init__(
        self,
        future: Future[OutboundResponse],
        target: Any,
        *,
        timeout: float,
        started: float,
        request: bytes,
        max_bytes: int,
        truncate: bool,
        finishes: list[outbound.Finish],
    ) -> None:
        self.future = future
        self.target = target
        self.timeout = timeout
        self.started = started
        self.deadline = started + timeout
        self.finishes = finishes
        self.state = _RESOLVING
        self.peer: IPAddress | None = None
        self.sock: Any = None  # socket.socket, then ssl.SSLSocket for https
        self.events = 0  # what the selector waits for on its socket
        self.out = memoryview(request)
        self.max_bytes = max_bytes
        self.parser = outbound.response_parser(max_bytes=max_bytes, truncate=truncate)
        self.wanted = next(self.parser)  # how many bytes the parser wants next, at most
        self.done = False


class Sender:
    """The loop: one thread, a selector over every exchange's socket, a heap of their deadlines."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, None)
        self._incoming: deque[tuple[_Exchange, IPAddress | BaseException | None]] = deque()
        self._waking = False
        self._deadlines: list[tuple[float, int, _Exchange]] = []
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._run, name="outbound-sender", daemon=True)
        self._thread.start()

    # -- any thread -----------------------------------------------------------------------------

    def submit(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = outbound.DEFAULT_MAX_BYTES,
        truncate: bool = False,
    ) -> Future[OutboundResponse]:
        """POST ``body`` to ``url`` under outbound's policy; the future ends as `outbound.post` would.
        Invalid arguments (a bad header, a body that is not bytes) raise here, as they do from `post`."""
        if not isinstance(body, bytes):
            raise TypeError("body must be bytes: it is signed and sent exactly as given")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        started = time.monotonic()
        future: Future[OutboundResponse] = Future()
        future.set_running_or_notify_cancel()
        finishes = [finish for observer in outbound.observers if (finish := observer(url, headers, body)) is not None]
        allow_loopback = outbound._allow_loopback()
        allowed_ports = outbound._allowed_ports()
        try:
            target = outbound._checked_target(url, allow_loopback=allow_loopback, allowed_ports=allowed_ports)
            request = outbound._request_head(target, headers, content_length=len(body)) + body
        except OutboundRefused as exc:
            logger.info("outbound POST refused: %s", exc.reason)
            _end(future, finishes, error=exc)
            return future
        except BaseException as exc:
            _end(future, finishes, error=exc, set_future=False)
            raise
        exchange = _Exchange(
            future,
            target,
            timeout=timeout,
            started=started,
            request=request,
            max_bytes=max_bytes,
            truncate=truncate,
            finishes=finishes,
        )
        if target.literal is not None:
            self._hand_over(exchange, target.literal)
            return future
        self._hand_over(exchange, None)  # its deadline now counts, DNS included
        threading.Thread(
            target=self._resolve,
            args=(exchange, allow_loopback, allowed_ports),
            name="outbound-dns",
            daemon=True,
        ).start()
        return future

    def _resolve(self, exchange: _Exchange, allow_loopback: bool, allowed_ports: frozenset[int]) -> None:
        """On a throwaway thread: the name resolved and every address checked, handed to the loop."""
        outcome: IPAddress | BaseException
        try:
            outcome = outbound._resolve_checked(
                exchange.target, allow_loopback=allow_loopback, allowed_ports=allowed_ports, deadline=exchange.deadline
            )
        except OutboundRefused as exc:
            logger.info("outbound POST refused: %s", exc.reason)
            outcome = exc
        except BaseException as exc:  # handed to the loop, which ends the future with it
            outcome = exc
        self._hand_over(exchange, outcome)

    def _hand_over(self, exchange: _Exchange, outcome: IPAddress | BaseException | None) -> None:
        self._incoming.append((exchange, outcome))
        if not self._waking:  # one wake-up byte for a burst of submissions (see _turn)
            self._waking = True
            with contextlib.suppress(BlockingIOError):  # the pipe is full: the loop is awake anyway
                self._wake_out.send(b"\0")

    # -- the sender's thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._turn()
            except Exception:  # never let the loop die: every exchange would hang to its caller's timeout
                logger.exception("outbound sender loop error")

    def _turn(self) -> None:
        timeout = None
        if self._deadlines:
            timeout = max(0.0, self._deadlines[0][0] - time.monotonic())
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                try:
                    while self._wake_in.recv(4096):
                        pass
                except BlockingIOError:
                    pass
                # Cleared once the pipe is empty, and before the queue is read below: a submission that saw
                # the flag still set is in the queue by then, one that sees it cleared writes a new byte.
                self._waking = False
            else:
                self._step(key.data)
        while self._incoming:
            exchange, outcome = self._incoming.popleft()
            self._take(exchange, outcome)
        self._expire()

    def _take(self, exchange: _Exchange, outcome: IPAddress | BaseException | None) -> None:
        if exchange.done:
            return  # timed out while its name was looked up
        if outcome is None:  # waiting for its lookup
            heapq.heappush(self._deadlines, (exchange.deadline, next(self._order), exchange))
            return
        if isinstance(outcome, BaseException):
            self._fail(exchange, outcome)
            return
        if exchange.target.literal is not None:
            heapq.heappush(self._deadlines, (exchange.deadline, next(self._order), exchange))
        self._connect(exchange, outcome)

    def _expire(self) -> None:
        now = time.monotonic()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, exchange = heapq.heappop(self._deadlines)
            if not exchange.done:
                self._fail(exchange, _timeout(exchange))

    def _connect(self, exchange: _Exchange, peer: IPAddress) -> None:
        exchange.peer = peer
        exchange.state = _CONNECTING
        try:
            sock = socket.socket(socket.AF_INET6 if peer.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        except OSError as exc:
            self._fail(exchange, _connect_error(exchange, exc))
            return
        exchange.sock = sock
        sock.setblocking(False)
        code = sock.connect_ex((str(peer), exchange.target.port))
        if code == 0:
            self._step(exchange)
        elif code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            self._wait(exchange, selectors.EVENT_WRITE)
        else:
            self._fail(exchange, _connect_error(exchange, OSError(code, os.strerror(code))))

    def _step(self, exchange: _Exchange) -> None:
        """Move the exchange as far as its socket allows, then wait for the socket again (or end it)."""
        sock = exchange.sock
        try:
            if exchange.state == _CONNECTING:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if exchange.target.scheme == "https":
                    # For a name, SNI and certificate checks use the name; for a literal, the IP SAN.
                    sock = exchange.sock = outbound._ssl_context().wrap_socket(
                        sock, server_hostname=exchange.target.host, do_handshake_on_connect=False
                    )
                    exchange.state = _HANDSHAKING
                else:
                    exchange.state = _SENDING
            if exchange.state == _HANDSHAKING:
                sock.do_handshake()
                exchange.state = _SENDING
            if exchange.state == _SENDING:
                while exchange.out:
                    exchange.out = exchange.out[sock.send(exchange.out) :]
                exchange.state = _READING
            while True:  # reading: until the socket (or TLS) has nothing more for now, or the response ends
                try:
                    exchange.wanted = exchange.parser.send(sock.recv(exchange.wanted))
                except StopIteration as done:
                    self._succeed(exchange, *done.value)
                    return
        except ssl.SSLWantReadError:
            self._wait(exchange, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self._wait(exchange, selectors.EVENT_WRITE)
        except BlockingIOError:  # a plain socket: its send buffer is full, or nothing to read yet
            self._wait(exchange, selectors.EVENT_WRITE if exchange.state == _SENDING else selectors.EVENT_READ)
        except outbound._TooLarge:
            message = f"the response from {exchange.target.host} is larger than {exchange.max_bytes} bytes"
            self._fail(exchange, OutboundError("too_large", message))
        except outbound._InvalidResponse as exc:
            host = exchange.target.host
            self._fail(exchange, OutboundError("protocol", f"{host} sent an invalid HTTP response: {exc}"))
        except ssl.SSLCertVerificationError as exc:
            host = exchange.target.host
            self._fail(
                exchange, OutboundError("tls", f"the TLS certificate of {host} is not valid: {exc.verify_message}")
            )
        except ssl.SSLError as exc:
            if exchange.state == _HANDSHAKING:
                message = f"the TLS handshake with {exchange.target.host} failed: {exc.reason}"
                self._fail(exchange, OutboundError("tls", message))
            else:
                self._fail(exchange, _exchange_error(exchange, exc))
        except OSError as exc:
            if exchange.state == _CONNECTING:
                self._fail(exchange, _connect_error(exchange, exc))
            else:
                self._fail(exchange, _exchange_error(exchange, exc))
        except Exception as exc:  # a bug, not the receiver: the caller sees it rather than waiting for ever
            logger.exception("outbound sender: unexpected error")
            self._fail(exchange, exc)

    def _wait(self, exchange: _Exchange, events: int) -> None:
        if exchange.events == events:
            return
        if exchange.events:
            self._selector.modify(exchange.sock, events, exchange)
        else:
            self._selector.register(exchange.sock, events, exchange)
        exchange.events = events

    def _succeed(self, exchange: _Exchange, status: int, headers: dict[str, str], body: bytes) -> None:
        elapsed_ms = int((time.monotonic() - exchange.started) * 1000)
        host, peer = exchange.target.host, exchange.peer
        logger.debug("outbound POST to %s (%s): %s in %d ms", host, peer, status, elapsed_ms)
        response = OutboundResponse(status=status, headers=headers, body=body, elapsed_ms=elapsed_ms, peer_ip=str(peer))
        self._close(exchange)
        _end(exchange.future, exchange.finishes, response=response)

    def _fail(self, exchange: _Exchange, error: BaseException) -> None:
        self._close(exchange)
        _end(exchange.future, exchange.finishes, error=error)

    def _close(self, exchange: _Exchange) -> None:
        exchange.done = True
        if exchange.sock is None:
            return
        if exchange.events:
            self._selector.unregister(exchange.sock)
            exchange.events = 0
        exchange.sock.close()


def _end(
    future: Future[OutboundResponse],
    finishes: list[outbound.Finish],
    *,
    response: OutboundResponse | None = None,
    error: BaseException | None = None,
    set_future: bool = True,
) -> None:
    for finish in finishes:
        finish(response, error)
    if not set_future:
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert response is not None
        future.set_result(response)


def _timeout(exchange: _Exchange) -> OutboundError:
    host, timeout = exchange.target.host, exchange.timeout
    if exchange.state == _RESOLVING:
        return OutboundError("timeout", f"looking up {host} took too long")
    if exchange.state in (_CONNECTING, _HANDSHAKING):
        return OutboundError("timeout", f"connecting to {host} took longer than {timeout:g} s")
    return OutboundError("timeout", f"{host} did not answer within {timeout:g} s")


def _connect_error(exchange: _Exchange, exc: OSError) -> OutboundError:
    host, peer = exchange.target.host, exchange.peer
    return OutboundError("connect", f"could not connect to {host} ({peer}): {exc.strerror or exc}")


def _exchange_error(exchange: _Exchange, exc: OSError) -> OutboundError:
    return OutboundError("connect", f"the connection to {exchange.target.host} failed: {exc}")


_sender: Sender | None = None
_sender_pid = 0
_sender_lock = threading.Lock()


def sender() -> Sender:
    """This process's sender, started on first use (a forked child starts its own)."""
    global _sender, _sender_pid
    with _sender_lock:
        if _sender is None or _sender_pid != os.getpid():
            _sender, _sender_pid = Sender(), os.getpid()
        return _sender
