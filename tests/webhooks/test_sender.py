"""core.sender: every outbound client test again through the sender, and what only the sender does
(many exchanges on one thread, one hanging receiver or name lookup leaving the others alone)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import wait
from typing import Any

import pytest

from core import outbound
from core.outbound import OutboundError, OutboundResponse
from core.sender import Sender, sender

from .test_outbound_client import *  # noqa: F403 - every test of the blocking client, collected again here
from .test_outbound_client import Receiver, _Handler, _Server, reply, stall


@pytest.fixture(autouse=True)
def through_the_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    """`outbound.post` as the webhook engine sends: submitted to this process's sender, waited for."""

    def post(url: str, **kwargs: Any) -> OutboundResponse:
        return sender().submit(url, **kwargs).result(timeout=60)

    monkeypatch.setattr(outbound, "post", post)


@pytest.fixture
def deep_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that accepts a burst of connections at once (the default listen backlog is 5: past it,
    connections wait for the kernel's retries, seconds each, which is the test server's limit, not ours)."""
    monkeypatch.setattr(_Server, "request_queue_size", 1024)


def _post(url: str, **kwargs: Any) -> Any:
    return sender().submit(url, body=b"{}", headers={"Content-Type": "application/json"}, timeout=10, **kwargs)


def test_many_exchanges_are_in_flight_at_once_on_one_thread(
    deep_backlog: None, start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    count = 40
    everyone = threading.Barrier(count + 1, timeout=30)

    def answer_when_all_arrived(handler: _Handler) -> None:
        everyone.wait()  # no request is answered before all of them are in: only concurrent senders pass
        reply(body=b"together")(handler)

    receiver = start_receiver(answer_when_all_arrived)
    threads_before = threading.active_count()
    futures = [_post(receiver.url()) for _ in range(count)]
    everyone.wait()
    _, not_done = wait(futures, timeout=30)

    assert not not_done
    assert [future.result().body for future in futures] == [b"together"] * count
    # The receiver's own threads aside, the client started none: one loop drives every socket.
    assert threading.active_count() - threads_before <= count + 1


def test_a_hanging_receiver_holds_its_own_exchange_only(
    start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    hanging, quick = start_receiver(stall), start_receiver(reply(body=b"quick"))
    held = sender().submit(hanging.url(), body=b"{}", headers={}, timeout=5)
    answered = [_post(quick.url()) for _ in range(10)]

    assert [future.result(timeout=10).body for future in answered] == [b"quick"] * 10
    assert not held.done()  # still waiting on its receiver while the others were answered
    with pytest.raises(OutboundError) as error:
        held.result(timeout=10)
    assert error.value.kind == "timeout"


def test_a_slow_name_lookup_does_not_hold_up_other_exchanges(
    start_receiver: Callable[..., Receiver], loopback_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = start_receiver(reply(body=b"literal"))
    lookup_started, lookup_may_end = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def slow(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.localhost":
            lookup_started.set()
            lookup_may_end.wait(10)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    by_name = _post(f"http://slow.localhost:{receiver.port}/in")
    assert lookup_started.wait(10)
    by_address = _post(receiver.url())

    assert by_address.result(timeout=10).body == b"literal"
    assert not by_name.done()
    lookup_may_end.set()
    assert by_name.result(timeout=10).body == b"literal"


def test_submissions_from_many_threads_all_end(
    deep_backlog: None, start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    """The loop's wake-up: a burst sent from several threads while the loop is busy loses none."""
    receiver = start_receiver(reply(body=b"ok"))
    futures: list[Any] = []
    lock = threading.Lock()

    def burst() -> None:
        for _ in range(25):
            future = _post(receiver.url())
            with lock:
                futures.append(future)
            time.sleep(0.001)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    done, not_done = wait(futures, timeout=30)

    assert len(futures) == 200 and not not_done
    assert {future.result().status for future in done} == {200}


def test_a_forked_child_gets_a_sender_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    first = sender()
    assert sender() is first
    monkeypatch.setattr("os.getpid", lambda: -1)  # as in a child after fork(): the parent's thread is not there
    assert sender() is not first and isinstance(sender(), Sender)


def test_a_submission_made_while_the_loop_wakes_up_is_not_lost(
    start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    """Another thread submits exactly while the loop empties its wake-up pipe: that submission is sent,
    and the next one still wakes the loop (a wake-up flag left set with no byte in the pipe would leave it
    asleep until some deadline, 30 s here)."""
    receiver = start_receiver(reply(body=b"ok"))
    loop = Sender()
    pipe = loop._wake_in
    during: list[Any] = []

    class SubmitWhileDraining:
        def recv(self, size: int) -> bytes:
            if not during:
                during.append(loop.submit(receiver.url(), body=b"{}", headers={}, timeout=30))
            return pipe.recv(size)

    loop._wake_in = SubmitWhileDraining()  # type: ignore[assignment]
    first = loop.submit(receiver.url(), body=b"{}", headers={}, timeout=30)

    assert first.result(timeout=5).status == 200
    assert during[0].result(timeout=5).status == 200
    time.sleep(0.2)  # the loop is back asleep in select(), with nothing left to do
    assert loop.submit(receiver.url(), body=b"{}", headers={}, timeout=30).result(timeout=5).status == 200
