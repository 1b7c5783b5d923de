"""The SSRF-safe outbound client: address policy, URL policy and real exchanges with local servers."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core import outbound
from core.outbound import (
    OutboundError,
    OutboundRefused,
    is_forbidden_address,
    parse_host_literal,
    post,
    validate_url,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


# --------------------------------------------------------------------------------------------
# Local receivers: real http.server instances on 127.0.0.1:0


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


Responder = Callable[["_Handler"], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    respond: Responder
    received: list[Received]
    release: threading.Event  # set at teardown so stalled handlers finish


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.received.append(Received(self.command, self.path, list(self.headers.items()), body))
        self.server.respond(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Receiver:
    server: _Server
    sni_names: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def received(self) -> list[Received]:
        return self.server.received

    def url(self, path: str = "/hook", *, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def reply(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None) -> Responder:
    def respond(handler: _Handler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def reply_without_length(body: bytes) -> Responder:
    """An HTTP/1.0-style body that ends when the server closes the connection."""

    def respond(handler: _Handler) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def stall(handler: _Handler) -> None:
    handler.server.release.wait(10)


def trickle(handler: _Handler) -> None:
    """Headers at once, then one body byte every 50 ms for 2 s: each read is quick, the whole is not."""
    handler.send_response(200)
    handler.send_header("Content-Length", "40")
    handler.end_headers()
    handler.wfile.flush()
    for _ in range(40):
        if handler.server.release.wait(0.05):
            return
        try:
            handler.wfile.write(b"x")
            handler.wfile.flush()
        except OSError:
            return


def garbage(handler: _Handler) -> None:
    handler.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")


@pytest.fixture
def start_receiver() -> Iterator[Callable[..., Receiver]]:
    servers: list[_Server] = []

    def start(respond: Responder | None = None, *, tls: ssl.SSLContext | None = None) -> Receiver:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.respond = respond or reply()
        server.received = []
        server.release = threading.Event()
        receiver = Receiver(server)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.sni_names.append(name)
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(server)
        return receiver

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_on(settings: Any) -> None:
    settings.OUTBOUND_ALLOW_LOOPBACK = True


@pytest.fixture
def loopback_off(settings: Any) -> None:
    settings.OUTBOUND_ALLOW_LOOPBACK = False


def addrinfo(*ips: str, port: int = 443) -> list[tuple[Any, ...]]:
    infos: list[tuple[Any, ...]] = []
    for ip in ips:
        if ":" in ip:
            infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
        else:
            infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
    return infos


def fake_dns(table: dict[str, list[str]]) -> Any:
    """Patch socket.getaddrinfo (the outside world) to answer from ``table``."""

    def answer(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return addrinfo(*table[host], port=int(port))

    return mock.patch("socket.getaddrinfo", autospec=True, side_effect=answer)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Pure: parsing host literals the way inet_aton does


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0", "0.0.0.0"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[fd00:ec2::254]", "fd00:ec2::254"),
    ],
)
def test_host_literals_are_read_in_every_spelling(host: str, expected: str) -> None:
    assert parse_host_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "1.16777216",
        "08.0.0.1",
        "1..2",
        "0x7g.1",
        "[1.2.3.4]",
        "fe80::1%eth0",
        "::1::2",
        "",
        ".",
    ],
)
def test_names_and_malformed_numbers_are_not_literals(host: str) -> None:
    assert parse_host_literal(host) is None


# --------------------------------------------------------------------------------------------
# Pure: the address policy


@pytest.mark.parametrize(
    ("address", "reason_part"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "documentation"),
        ("2001:db8::1", "documentation"),
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("168.63.129.16", "metadata"),
        ("192.0.0.192", "metadata"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),
        ("2002:7f00:1::", "6to4"),
        ("2002:a9fe:a9fe::1", "metadata"),
        ("64:ff9b::7f00:1", "NAT64"),
        ("64:ff9b::10.0.0.1", "private"),
        ("64:ff9b:1::1", "NAT64"),
        ("2001::1", "Teredo"),
        ("fec0::1", "site-local"),
        ("100::1", "discard"),
        ("4000::1", "global unicast"),
    ],
)
def test_forbidden_addresses_are_refused_with_a_reason(address: str, reason_part: str) -> None:
    reason = is_forbidden_address(ipaddress.ip_address(address), allow_loopback=False)

    assert reason is not None and reason_part in reason


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        PUBLIC_V4,
        PUBLIC_V6,
        "2606:4700::1111",
        "64:ff9b::8.8.8.8",
        "2002:808:808::1",
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address), allow_loopback=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"])
def test_loopback_flag_allows_loopback(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address), allow_loopback=True) is None


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::",
        "fd00::1",
        "100.64.0.1",
        "::127.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::7f00:1",
    ],
)
def test_loopback_flag_still_refuses_other_private_addresses(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address), allow_loopback=True) is not None


# --------------------------------------------------------------------------------------------
# The SSRF matrix: URLs refused before any connection

REFUSED_URLS = [
    # loopback, every spelling
    "https://127.0.0.1/hook",
    "https://2130706433/hook",
    "https://0177.0.0.1/hook",
    "https://0x7f.0.0.1/hook",
    "https://0x7f000001/hook",
    "https://127.1/hook",
    "https://127.0.0.1./hook",
    "https://[::1]/hook",
    "https://[0:0:0:0:0:0:0:1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[::127.0.0.1]/hook",
    "https://[2002:7f00:1::]/hook",
    "https://[64:ff9b::127.0.0.1]/hook",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
    "https://api.localhost/hook",
    # unspecified, private, link-local, CGNAT, multicast, reserved
    "https://0.0.0.0/hook",
    "https://0/hook",
    "https://[::]/hook",
    "https://10.0.0.1/hook",
    "https://012.0.0.1/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://3232235777/hook",
    "https://[fc00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fe80::1%25eth0]/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
    "https://[ff02::1]/hook",
    "https://240.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://[2002:a00:1::]/hook",
    "https://[64:ff9b::10.0.0.1]/hook",
    # cloud metadata
    "https://169.254.169.254/latest/meta-data/",
    "https://0xa9fea9fe/latest/meta-data/",
    "https://169.254.43518/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/latest/meta-data/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://100.100.100.200/latest/meta-data/",
    "https://168.63.129.16/machine",
    "https://metadata.google.internal/computeMetadata/v1/",
    # scheme, port, userinfo and parser tricks
    "http://example.com/hook",
    "HTTP://example.com/hook",
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com/",
    "https://example.com:8443/hook",
    "https://example.com:80/hook",
    "https://example.com:0/hook",
    "https://example.com:65536/hook",
    "https://example.com:+443/hook",
    "https://example.com@127.0.0.1/hook",
    "https://user:pass@example.com/hook",
    "https://example.com:443@127.0.0.1/hook",
    "https://127.0.0.1#@example.com/hook",
    "https://127.0.0.1?@example.com/hook",
    "https://example.com\\@127.0.0.1/hook",
    "https://exam\tple.com/hook",
    "https://example.com\n/hook",
    "https://example.com /hook",
    "https://ex%61mple.com/hook",
    "https://ｅxample.com/hook",
    "https://１２７.０.０.１/hook",
    "https://::1/hook",
    "https://[::1/hook",
    "https://[example.com]/hook",
    "https:///hook",
    "https://intranet/hook",
    "https://printer.local/hook",
    "https://router.home.arpa/hook",
    "https://1.2.3.4.5/hook",
    "https://256.1.1.1/hook",
    "https://example.0x7f/hook",
    "//example.com/hook",
    "example.com/hook",
    "",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_ssrf_urls_are_refused_when_created(url: str, loopback_off: None) -> None:
    with pytest.raises(OutboundRefused) as refused:
        validate_url(url)

    assert refused.value.reason and str(refused.value) == refused.value.reason


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_ssrf_urls_are_refused_when_posting_without_connecting(url: str, loopback_off: None) -> None:
    with fake_dns({}) as getaddrinfo, mock.patch("socket.socket.connect", autospec=True) as connect:
        with pytest.raises(OutboundRefused):
            post(url, body=b"{}", headers={}, timeout=2)

    getaddrinfo.assert_not_called()
    connect.assert_not_called()


@pytest.mark.parametrize(
    ("name", "addresses"),
    [
        ("loopback.test", ["127.0.0.1"]),
        ("private.test", ["10.0.0.5"]),
        ("cgnat.test", ["100.64.1.1"]),
        ("metadata.test", ["169.254.169.254"]),
        ("v6-loopback.test", ["::1"]),
        ("mapped.test", ["::ffff:127.0.0.1"]),
        ("ula.test", ["fd00:ec2::254"]),
        ("scoped.test", ["fe80::1%eth0"]),
        ("unspecified.test", ["0.0.0.0"]),
        ("mixed.test", [PUBLIC_V4, "10.0.0.1"]),
        ("mixed-v6.test", [PUBLIC_V6, "fd12:3456::1"]),
        ("mixed-first-private.test", ["192.168.0.10", PUBLIC_V4]),
    ],
)
def test_names_resolving_to_forbidden_addresses_are_refused(
    name: str, addresses: list[str], loopback_off: None
) -> None:
    url = f"https://{name}/hook"
    validate_url(url)  # a name is fine at creation time: there is no DNS then

    with fake_dns({name: addresses}) as getaddrinfo, mock.patch("socket.socket.connect", autospec=True) as connect:
        with pytest.raises(OutboundRefused, match="resolves to"):
            post(url, body=b"{}", headers={}, timeout=2)

    assert getaddrinfo.call_count == 1
    connect.assert_not_called()


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "https://Example.COM./hook?x=1&y=%20z#fragment",
        "https://sub.example.co.uk/a/b/c",
        "https://xn--bcher-kva.example/hook",
        "https://under_score.example.com/hook",
        f"https://{PUBLIC_V4}/hook",
        f"https://[{PUBLIC_V6}]/hook",
        "https://example.com:443/hook",
    ],
)
def test_public_https_urls_are_accepted(url: str, loopback_off: None) -> None:
    validate_url(url)


def test_extra_ports_can_be_allowed_by_setting(settings: Any) -> None:
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    settings.OUTBOUND_ALLOWED_PORTS = [443, 8443]

    validate_url("https://example.com:8443/hook")
    with pytest.raises(OutboundRefused, match="port 443 or 8443"):
        validate_url("https://example.com:9000/hook")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost:3000/hook",
        "https://127.0.0.1:8443/hook",
        "http://[::1]:9000/hook",
        "http://127.0.0.1/hook",
    ],
)
def test_loopback_urls_are_accepted_with_the_loopback_flag(url: str, loopback_on: None) -> None:
    validate_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1:8000/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/",
        "http://0.0.0.0:8000/hook",
        "https://[fd00::1]/hook",
        f"http://{PUBLIC_V4}/hook",
        f"https://{PUBLIC_V4}:8080/hook",
    ],
)
def test_loopback_flag_does_not_open_other_addresses(url: str, loopback_on: None) -> None:
    with pytest.raises(OutboundRefused):
        validate_url(url)


def test_loopback_flag_allows_names_only_if_they_resolve_to_loopback(loopback_on: None) -> None:
    with fake_dns({"public.test": [PUBLIC_V4], "private.test": ["10.0.0.1"]}):
        with pytest.raises(OutboundRefused, match="non-loopback"):
            post("http://public.test:8080/hook", body=b"{}", headers={}, timeout=2)
        with pytest.raises(OutboundRefused, match="private"):
            post("https://private.test/hook", body=b"{}", headers={}, timeout=2)


def test_loopback_receiver_is_refused_when_the_flag_is_off(
    start_receiver: Callable[..., Receiver], loopback_off: None
) -> None:
    receiver = start_receiver()

    for url in (receiver.url(), receiver.url(host="localhost"), receiver.url(scheme="https")):
        with pytest.raises(OutboundRefused):
            post(url, body=b"{}", headers={}, timeout=2)

    assert receiver.received == []


# --------------------------------------------------------------------------------------------
# Real exchanges with a local server (loopback flag on)


def test_post_delivers_the_exact_bytes_and_headers(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver(reply(201, b'{"ok":true}', {"X-Reply": "yes", "Content-Type": "application/json"}))
    body = b'{"type":"call.completed","text":"caf\xc3\xa9"}\x00\xff'

    response = post(
        receiver.url("/hook?x=1"),
        body=body,
        headers={"Content-Type": "application/json", "X-AIP-Signature": "t=1,v1=abc"},
        timeout=5,
    )

    [received] = receiver.received
    assert received.method == "POST"
    assert received.path == "/hook?x=1"
    assert received.body == body
    assert received.header("Content-Type") == "application/json"
    assert received.header("X-AIP-Signature") == "t=1,v1=abc"
    assert received.header("Content-Length") == str(len(body))
    assert received.header("Host") == f"127.0.0.1:{receiver.port}"
    assert received.header("Accept-Encoding") == "identity"
    assert response.status == 201
    assert response.body == b'{"ok":true}'
    assert response.headers["x-reply"] == "yes"
    assert response.headers["content-type"] == "application/json"
    assert all(name == name.lower() for name in response.headers)
    assert response.peer_ip == "127.0.0.1"
    assert response.elapsed_ms >= 0


def test_localhost_receiver_works_with_the_flag(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver()

    with fake_dns({"localhost": ["127.0.0.1"]}):
        response = post(receiver.url(host="localhost"), body=b"hi", headers={}, timeout=5)

    assert response.status == 200
    assert receiver.received[0].header("Host") == f"localhost:{receiver.port}"


def test_redirects_are_returned_and_never_followed(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    target = start_receiver()
    location = target.url("/stolen")
    redirector = start_receiver(reply(302, b"", {"Location": location}))

    response = post(redirector.url(), body=b"{}", headers={}, timeout=5)

    assert response.status == 302
    assert response.headers["location"] == location
    assert len(redirector.received) == 1
    assert target.received == []


@pytest.mark.parametrize(
    "respond", [reply(body=b"x" * 100_000), reply_without_length(b"x" * 100_000)], ids=["content-length", "until-close"]
)
def test_response_over_max_bytes_is_too_large(
    respond: Responder, start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    receiver = start_receiver(respond)

    with pytest.raises(OutboundError) as error:
        post(receiver.url(), body=b"{}", headers={}, timeout=5, max_bytes=1024)

    assert error.value.kind == "too_large"
    assert "1024 bytes" in str(error.value)


@pytest.mark.parametrize(
    "respond",
    [reply(body=bytes(range(256)) * 400), reply_without_length(bytes(range(256)) * 400)],
    ids=["content-length", "until-close"],
)
def test_truncate_keeps_the_first_max_bytes(
    respond: Responder, start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    receiver = start_receiver(respond)

    response = post(receiver.url(), body=b"{}", headers={}, timeout=5, max_bytes=1000, truncate=True)

    assert response.status == 200
    assert response.body == (bytes(range(256)) * 400)[:1000]


def test_a_body_of_exactly_max_bytes_is_accepted(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver(reply(body=b"y" * 1024))

    response = post(receiver.url(), body=b"{}", headers={}, timeout=5, max_bytes=1024)

    assert response.body == b"y" * 1024


def test_slow_server_times_out_within_the_deadline(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver(stall)
    timeout = 0.5

    started = time.monotonic()
    with pytest.raises(OutboundError) as error:
        post(receiver.url(), body=b"{}", headers={}, timeout=timeout)
    elapsed = time.monotonic() - started

    assert error.value.kind == "timeout"
    assert elapsed < timeout + 0.5
    assert len(receiver.received) == 1


def test_trickling_server_cannot_stretch_the_total_deadline(
    start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    receiver = start_receiver(trickle)
    timeout = 0.5

    started = time.monotonic()
    with pytest.raises(OutboundError) as error:
        post(receiver.url(), body=b"{}", headers={}, timeout=timeout, max_bytes=1_000_000)
    elapsed = time.monotonic() - started

    assert error.value.kind == "timeout"
    assert elapsed < timeout + 0.5


def test_slow_dns_counts_against_the_deadline(loopback_on: None) -> None:
    unblock = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        unblock.wait(5)
        return addrinfo(PUBLIC_V4)

    try:
        with mock.patch("socket.getaddrinfo", autospec=True, side_effect=hang):
            started = time.monotonic()
            with pytest.raises(OutboundError) as error:
                post("https://slow-dns.test/hook", body=b"{}", headers={}, timeout=0.3)
            elapsed = time.monotonic() - started
    finally:
        unblock.set()

    assert error.value.kind == "timeout"
    assert elapsed < 0.8


def test_connection_pins_the_checked_address_and_keeps_the_host_name(
    start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    receiver = start_receiver()
    answers = iter([addrinfo("127.0.0.1"), addrinfo("169.254.169.254"), addrinfo("10.0.0.1")])

    # The first answer is checked; a rebinding resolver would hand out the next ones.
    with mock.patch("socket.getaddrinfo", autospec=True, side_effect=lambda *a, **k: next(answers)) as getaddrinfo:
        response = post(receiver.url(host="receiver.test"), body=b"pinned", headers={}, timeout=5)

    assert getaddrinfo.call_count == 1
    assert getaddrinfo.call_args.args[0] == "receiver.test"
    assert response.status == 200
    assert response.peer_ip == "127.0.0.1"
    [received] = receiver.received
    assert received.header("Host") == f"receiver.test:{receiver.port}"
    assert received.body == b"pinned"


def test_each_post_resolves_exactly_once_and_literals_not_at_all(
    start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    receiver = start_receiver()

    with fake_dns({"receiver.test": ["127.0.0.1"]}) as getaddrinfo:
        post(receiver.url(host="receiver.test"), body=b"1", headers={}, timeout=5)
        assert getaddrinfo.call_count == 1
        post(receiver.url(host="receiver.test"), body=b"2", headers={}, timeout=5)
        assert getaddrinfo.call_count == 2
        post(receiver.url(), body=b"3", headers={}, timeout=5)
        assert getaddrinfo.call_count == 2

    assert [r.body for r in receiver.received] == [b"1", b"2", b"3"]


def test_closed_port_is_a_connect_error(loopback_on: None) -> None:
    with pytest.raises(OutboundError) as error:
        post(f"http://127.0.0.1:{unused_port()}/hook", body=b"{}", headers={}, timeout=5)

    assert error.value.kind == "connect"


def test_unknown_name_is_a_connect_error(loopback_on: None) -> None:
    with fake_dns({}), pytest.raises(OutboundError) as error:
        post("https://nowhere.test/hook", body=b"{}", headers={}, timeout=5)

    assert error.value.kind == "connect"
    assert "could not be resolved" in str(error.value)


def test_non_http_reply_is_a_protocol_error(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver(garbage)

    with pytest.raises(OutboundError) as error:
        post(receiver.url(), body=b"{}", headers={}, timeout=5)

    assert error.value.kind == "protocol"


def raw_reply(data: bytes) -> Responder:
    """Writes ``data`` as it is and closes: framings http.server would not produce by itself."""

    def respond(handler: _Handler) -> None:
        handler.wfile.write(data)
        handler.close_connection = True

    return respond


def test_a_chunked_response_is_read_whole(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver(
        raw_reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    )

    response = post(receiver.url(), body=b"{}", headers={}, timeout=5)

    assert (response.status, response.body) == (200, b"abcdefg")
    assert response.headers["transfer-encoding"] == "chunked"


def test_an_interim_response_is_skipped_for_the_final_one(
    start_receiver: Callable[..., Receiver], loopback_on: None
) -> None:
    receiver = start_receiver(
        raw_reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone")
    )

    response = post(receiver.url(), body=b"{}", headers={}, timeout=5)

    assert (response.status, response.body) == (201, b"done")


def test_a_response_cut_short_is_a_protocol_error(start_receiver: Callable[..., Receiver], loopback_on: None) -> None:
    receiver = start_receiver(raw_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))

    with pytest.raises(OutboundError) as error:
        post(receiver.url(), body=b"{}", headers={}, timeout=5)

    assert error.value.kind == "protocol"


def test_a_url_accepted_once_is_refused_when_the_policy_changes(
    start_receiver: Callable[..., Receiver], settings: Any
) -> None:
    """Each URL's check is remembered per policy: turning the loopback flag off refuses it again."""
    receiver = start_receiver()
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    assert post(receiver.url(), body=b"1", headers={}, timeout=5).status == 200

    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(OutboundRefused):
        post(receiver.url(), body=b"2", headers={}, timeout=5)

    assert [r.body for r in receiver.received] == [b"1"]


def test_bad_caller_headers_are_rejected_without_echoing_their_value(loopback_on: None) -> None:
    secret = "Bearer sk_live_secret\r\nX-Injected: 1"

    with pytest.raises(ValueError) as error:
        post("http://127.0.0.1:9/hook", body=b"{}", headers={"Authorization": secret}, timeout=1)
    assert "sk_live_secret" not in str(error.value)
    assert "Authorization" in str(error.value)

    with pytest.raises(ValueError, match="set by the outbound client"):
        post("http://127.0.0.1:9/hook", body=b"{}", headers={"Host": "evil.test"}, timeout=1)


def test_header_values_with_control_characters_or_outer_spaces_are_rejected_without_echo(loopback_on: None) -> None:
    for value in ("sk_live_secret\x01", " sk_live_secret", "sk_live_secret\t", "sk_live_secr\x7fet", "sk_live_secrét"):
        with pytest.raises(ValueError) as error:
            post("http://127.0.0.1:9/hook", body=b"{}", headers={"X-Api-Key": value}, timeout=1)
        assert "sk_live" not in str(error.value)
        assert "X-Api-Key" in str(error.value)


# --------------------------------------------------------------------------------------------
# Our HTTP/1.1 exchange, against a raw-socket server that sends exactly the bytes a test scripts


@dataclass
class RawServer:
    """Answers each connection with ``pieces``, one send each (``pause`` seconds apart), then closes
    it, or with ``hold`` keeps it open until teardown. ``requests`` holds the raw bytes received."""

    pieces: list[bytes]
    pause: float = 0.0
    hold: bool = False
    requests: list[bytes] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    listener: socket.socket = field(default_factory=socket.socket)

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed at teardown
                return
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one send, one segment
                self.requests.append(_read_request(conn))
                try:
                    for piece in self.pieces:
                        conn.sendall(piece)
                        if self.pause:
                            time.sleep(self.pause)
                except OSError:  # the client hung up first, as it may once it has what it needs
                    continue
                if self.hold:
                    self.release.wait(10)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        if not (more := conn.recv(65536)):
            return data
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
    while len(body) < length:
        if not (more := conn.recv(65536)):
            break
        body += more
        data += more
    return data


@pytest.fixture
def raw_server(loopback_on: None) -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(*pieces: bytes, pause: float = 0.0, hold: bool = False) -> RawServer:
        server = RawServer(list(pieces), pause=pause, hold=hold)
        server.listener.bind(("127.0.0.1", 0))
        server.listener.listen()
        threading.Thread(target=server.serve, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.listener.close()


def protocol_error(url: str, **kwargs: Any) -> str:
    with pytest.raises(OutboundError) as error:
        post(url, body=b"{}", headers={}, timeout=kwargs.pop("timeout", 5), **kwargs)
    assert error.value.kind == "protocol"
    return str(error.value)


def test_the_request_is_written_exactly_with_our_framing_first(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    response = post(
        server.url + "?a=%20b",
        body=b'{"x":1}',
        headers={"Content-Type": "application/json", "X-Tab": "a\tb"},
        timeout=5,
    )

    assert (response.status, response.body) == (200, b"ok")
    assert server.requests == [
        (
            "POST /hook?a=%20b HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            "Content-Length: 7\r\n"
            "Connection: close\r\n"
            "User-Agent: AIPhone360-Outbound/1.0\r\n"
            "Accept-Encoding: identity\r\n"
            "Content-Type: application/json\r\n"
            "X-Tab: a\tb\r\n"
            "\r\n"
            '{"x":1}'
        ).encode()
    ]


def test_response_headers_are_lower_cased_trimmed_and_repeats_joined(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nX-Many: a\r\nSet-Cookie:  b=1 \t\r\nx-many: c\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n"
        b"Content-Length: 2\r\n\r\nok"
    )

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert response.headers == {
        "x-many": "a, c",
        "set-cookie": "b=1",
        "x-empty": "",
        "x-latin": "café",
        "content-length": "2",
    }


def _head_of_size(size: int) -> bytes:
    """A response head whose status line and fields take ``size`` bytes, up to its blank line."""
    status_line, framing = b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2"
    filler = b"X-Big: " + b"a" * (size - len(status_line) - len(framing) - 9) + b"\r\n"
    head = status_line + filler + framing
    assert len(head) == size
    return head + b"\r\n\r\n"


@pytest.mark.parametrize("pieces", [1, 3], ids=["one-send", "three-sends"])
def test_a_head_of_16_kib_is_read_and_one_byte_more_is_a_protocol_error(
    raw_server: Callable[..., RawServer], pieces: int
) -> None:
    def split(data: bytes) -> list[bytes]:
        step = len(data) // pieces + 1
        return [data[i : i + step] for i in range(0, len(data), step)]

    fits = raw_server(*split(_head_of_size(16 * 1024) + b"ok"), pause=0.01)
    too_big = raw_server(*split(_head_of_size(16 * 1024 + 1) + b"ok"), pause=0.01)

    response = post(fits.url, body=b"{}", headers={}, timeout=5)
    assert response.body == b"ok"
    assert len(response.headers["x-big"]) > 16_000
    assert "longer than 16384 bytes" in protocol_error(too_big.url)


@pytest.mark.parametrize("hold", [False, True], ids=["then-closed", "held-open-unfinished"])
def test_a_head_over_16_kib_is_a_protocol_error(raw_server: Callable[..., RawServer], hold: bool) -> None:
    """Held open with no end in sight, the head is refused once 16 KiB arrived, not at the deadline."""
    big = b"X-Big: " + b"a" * (16 * 1024) + b"\r\n"
    rest = [] if hold else [b"Content-Length: 2\r\n\r\nok"]
    server = raw_server(b"HTTP/1.1 200 OK\r\n", big, *rest, hold=hold)

    assert "longer than 16384 bytes" in protocol_error(server.url)


@pytest.mark.parametrize(
    "status_line",
    [
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 099 Low",
        b"HTTP/1.1 abc OK",
        b"HTTP/1.1 200OK",
        b"HTTP/1.1  200 OK",
        b"HTTP/2 200 OK",
        b"HTTP/1.2 200 OK",
        b"http/1.1 200 OK",
        b"ICY 200 OK",
        b" HTTP/1.1 200 OK",
        b"HTTP/1.1 200 O\x00K",
        b"",
    ],
)
def test_an_invalid_status_line_is_a_protocol_error(raw_server: Callable[..., RawServer], status_line: bytes) -> None:
    server = raw_server(status_line + b"\r\nContent-Length: 2\r\n\r\nok")

    assert "status line" in protocol_error(server.url)


@pytest.mark.parametrize(
    "status_line", [b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 200", b"HTTP/1.1 200 ", b"HTTP/1.1 200 \xc9a va"]
)
def test_valid_status_lines_are_read(raw_server: Callable[..., RawServer], status_line: bytes) -> None:
    server = raw_server(status_line + b"\r\nContent-Length: 2\r\n\r\nok")

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert (response.status, response.body) == (200, b"ok")


def test_bare_line_feeds_are_accepted_as_line_ends(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.1 201 Created\nX-A: 1\nContent-Length: 2\n\nok")

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert (response.status, response.headers, response.body) == (201, {"x-a": "1", "content-length": "2"}, b"ok")


def test_an_obs_fold_header_is_a_protocol_error(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nok")

    assert "obs-fold" in protocol_error(server.url)


@pytest.mark.parametrize(
    "line",
    [b"X-A one", b"X A: one", b"X-A : one", b": one", b"X-\xe9: one", b"X-A: o\x01ne", b"X-A: one\rtwo", b"\x00"],
)
def test_an_invalid_header_line_is_a_protocol_error(raw_server: Callable[..., RawServer], line: bytes) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 2\r\n\r\nok")

    protocol_error(server.url)


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"-3\r\nabc\r\n0\r\n\r\n",
        b"0x3\r\nabc\r\n0\r\n\r\n",
        b"\r\nabc\r\n0\r\n\r\n",
        b" 3\r\nabc\r\n0\r\n\r\n",
        b"11111111111111111\r\nabc\r\n0\r\n\r\n",
        b"3;ext=\x01\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabcd\r\n0\r\n\r\n",
    ],
)
def test_a_bad_chunk_line_is_a_protocol_error(raw_server: Callable[..., RawServer], chunks: bytes) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)

    assert "chunk" in protocol_error(server.url)


def test_chunk_extensions_are_ignored_and_sizes_are_hex(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
        b'3;name=value\r\nabc\r\nA ; x="y"\r\n0123456789\r\n0\r\n\r\n'
    )

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert response.body == b"abc0123456789"


def test_trailers_after_the_last_chunk_are_read_and_dropped(raw_server: Callable[..., RawServer]) -> None:
    """Held open afterwards: the response ends at the trailers' blank line, not when the server closes."""
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\nX-Other: 2\r\n\r\n",
        hold=True,
    )

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert response.body == b"abc"
    assert "x-checksum" not in response.headers
    assert "x-other" not in response.headers


def test_invalid_trailers_are_a_protocol_error(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nno colon\r\n\r\n")

    protocol_error(server.url)


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 2\r\nContent-Length: 3",
        b"Content-Length: 2, 3",
        b"Content-Length: abc",
        b"Content-Length: -2",
        b"Content-Length: +2",
        b"Content-Length: 2 2",
        b"Content-Length:",
        b"Content-Length: 1234567890123456789",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked",
        b"Transfer-Encoding: gzip",
        b"Transfer-Encoding: gzip, chunked",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    ],
)
def test_conflicting_or_invalid_framing_is_a_protocol_error(
    raw_server: Callable[..., RawServer], framing: bytes
) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\nok\r\n0\r\n\r\n")

    message = protocol_error(server.url)

    assert "Content-Length" in message or "Transfer-Encoding" in message


def test_chunked_on_an_http_1_0_response_is_a_protocol_error(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")

    assert "HTTP/1.0" in protocol_error(server.url)


def test_repeated_identical_content_lengths_are_one(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2 , 2\r\n\r\nok")

    assert post(server.url, body=b"{}", headers={}, timeout=5).body == b"ok"


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body_whatever_their_headers_say(raw_server: Callable[..., RawServer], status: int) -> None:
    """Held open: a client waiting for a body (or the close) would time out instead."""
    server = raw_server(f"HTTP/1.1 {status} Nothing\r\nContent-Length: 5\r\n\r\n".encode(), hold=True)

    response = post(server.url, body=b"{}", headers={}, timeout=3)

    assert (response.status, response.body) == (status, b"")


@pytest.mark.parametrize("version", [b"1.1", b"1.0"])
def test_without_framing_the_body_runs_until_the_server_closes(
    raw_server: Callable[..., RawServer], version: bytes
) -> None:
    server = raw_server(b"HTTP/" + version + b" 200 OK\r\nX-A: 1\r\n\r\nhello ", b"world\r\n", b"\r\nagain", pause=0.01)

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert (response.status, response.body) == (200, b"hello world\r\n\r\nagain")


def test_101_switching_protocols_is_a_protocol_error(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )

    assert "101" in protocol_error(server.url)


def test_several_interim_responses_are_skipped(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"
    )

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert (response.status, response.headers, response.body) == (202, {"content-length": "2"}, b"ok")


@pytest.mark.parametrize(
    "reply_bytes",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-T: 1\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
    ids=["nothing", "in-head", "in-chunk", "before-last-chunk", "in-trailers", "after-interim"],
)
def test_a_connection_closed_early_is_a_protocol_error(
    raw_server: Callable[..., RawServer], reply_bytes: bytes
) -> None:
    server = raw_server(reply_bytes)

    assert "cut short" in protocol_error(server.url)


def test_a_response_sent_one_byte_at_a_time_is_read_whole(raw_server: Callable[..., RawServer]) -> None:
    response_bytes = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 2\r\n\r\n"
    )
    server = raw_server(*(response_bytes[i : i + 1] for i in range(len(response_bytes))), pause=0.001, hold=True)

    response = post(server.url, body=b"{}", headers={}, timeout=10)

    assert (response.status, response.body) == (200, b"abc0123456789abcdef")
    assert response.headers == {"x-a": "1", "transfer-encoding": "chunked"}


def test_a_content_length_response_split_across_writes_is_read_whole(raw_server: Callable[..., RawServer]) -> None:
    response_bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"
    # Splits at every awkward place: inside the CRLF CRLF, right after it, inside the body.
    server = raw_server(
        response_bytes[:35], response_bytes[35:37], response_bytes[37:41], response_bytes[41:], pause=0.01
    )

    response = post(server.url, body=b"{}", headers={}, timeout=5)

    assert response.body == b"0123456789"


def test_a_declared_length_over_the_cap_is_refused_before_the_body_arrives(
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", hold=True)

    with pytest.raises(OutboundError) as error:
        post(server.url, body=b"{}", headers={}, timeout=3, max_bytes=1024)

    assert error.value.kind == "too_large"


@pytest.mark.parametrize(
    "framing",
    [b"Content-Length: 100000\r\n\r\n", b"Transfer-Encoding: chunked\r\n\r\n186a0\r\n"],
    ids=["length", "chunked"],
)
def test_truncating_reads_no_more_than_the_cap(raw_server: Callable[..., RawServer], framing: bytes) -> None:
    """Held open with the body unfinished: the client stops once it has ``max_bytes``."""
    server = raw_server(b"HTTP/1.1 200 OK\r\n" + framing + b"x" * 3000, hold=True)

    response = post(server.url, body=b"{}", headers={}, timeout=3, max_bytes=1000, truncate=True)

    assert response.body == b"x" * 1000


def test_a_chunked_body_over_the_cap_is_too_large(raw_server: Callable[..., RawServer]) -> None:
    chunk = b"200\r\n" + b"y" * 512 + b"\r\n"
    server = raw_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 2 + b"0\r\n\r\n")

    with pytest.raises(OutboundError) as error:
        post(server.url, body=b"{}", headers={}, timeout=5, max_bytes=1023)

    assert error.value.kind == "too_large"


def test_a_chunked_body_of_exactly_the_cap_is_accepted(raw_server: Callable[..., RawServer]) -> None:
    chunk = b"200\r\n" + b"y" * 512 + b"\r\n"
    server = raw_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 2 + b"0\r\n\r\n")

    response = post(server.url, body=b"{}", headers={}, timeout=5, max_bytes=1024)

    assert response.body == b"y" * 1024


# --------------------------------------------------------------------------------------------
# TLS: the pinned connection still verifies the certificate against the host name


@dataclass
class Pki:
    ca_pem: bytes
    server_context: ssl.SSLContext


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A throwaway CA and a certificate for receiver.test signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("Test CA", ca_key, None)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = _certificate("receiver.test", leaf_key, ("Test CA", ca_key))

    cert_file, key_file = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_file.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    return Pki(ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM), server_context=server_context)


@pytest.fixture
def trust_test_ca(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap the trust store (the outside world) for one holding only the test CA."""
    context = ssl.create_default_context(cadata=pki.ca_pem.decode())
    context.set_alpn_protocols(["http/1.1"])
    monkeypatch.setattr(outbound, "_ssl_context", lambda: context)


def test_https_to_a_pinned_address_sends_sni_and_verifies_the_host_name(
    start_receiver: Callable[..., Receiver], pki: Pki, trust_test_ca: None, loopback_on: None
) -> None:
    receiver = start_receiver(reply(body=b"secure"), tls=pki.server_context)

    with fake_dns({"receiver.test": ["127.0.0.1"]}) as getaddrinfo:
        response = post(receiver.url(host="receiver.test", scheme="https"), body=b"{}", headers={}, timeout=5)

    assert response.body == b"secure"
    assert response.peer_ip == "127.0.0.1"
    assert receiver.sni_names == ["receiver.test"]
    assert receiver.received[0].header("Host") == f"receiver.test:{receiver.port}"
    assert getaddrinfo.call_count == 1


def test_certificate_for_another_name_is_a_tls_error(
    start_receiver: Callable[..., Receiver], pki: Pki, trust_test_ca: None, loopback_on: None
) -> None:
    receiver = start_receiver(tls=pki.server_context)

    with fake_dns({"other.test": ["127.0.0.1"]}), pytest.raises(OutboundError) as error:
        post(receiver.url(host="other.test", scheme="https"), body=b"{}", headers={}, timeout=5)

    assert error.value.kind == "tls"
    assert receiver.received == []


def test_certificate_from_an_unknown_authority_is_a_tls_error(
    start_receiver: Callable[..., Receiver], pki: Pki, loopback_on: None
) -> None:
    receiver = start_receiver(tls=pki.server_context)

    with fake_dns({"receiver.test": ["127.0.0.1"]}), pytest.raises(OutboundError) as error:
        post(receiver.url(host="receiver.test", scheme="https"), body=b"{}", headers={}, timeout=5)

    assert error.value.kind == "tls"
    assert "not valid" in str(error.value)
    assert receiver.received == []
