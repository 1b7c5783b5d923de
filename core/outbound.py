"""The one outbound HTTP client for webhook deliveries and custom-tool calls.

Customers choose these URLs, so every request is treated as a possible SSRF attempt:

* only ``https`` on an allowed port (``OUTBOUND_ALLOWED_PORTS``, default 443);
* the host is resolved once and *every* address is checked: loopback, private, link-local,
  CGNAT, multicast, reserved, cloud-metadata and IPv6 embeddings of those are refused, whatever
  the spelling (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``::ffff:127.0.0.1`` …);
* the socket is connected to the checked address itself, so a DNS answer that changes between
  the check and the connection (rebinding) cannot redirect it; TLS still verifies the hostname;
* redirects are never followed, the response body is capped and ``timeout`` is a hard deadline
  for the whole exchange, DNS included.

``OUTBOUND_ALLOW_LOOPBACK`` (tests and the local demo only) additionally allows loopback
receivers on any port, over http or https. Every other private address stays refused.

Why not an ``httpx.Client``: its transport resolves the host again when connecting (even an IP
goes through ``getaddrinfo``), gives no way to bound the *total* time of a request, and pools
connections by address, so a TLS connection verified for one customer's hostname could be reused
for another hostname served from the same IP. We therefore connect and handshake the socket
ourselves, one connection per request, sent with ``Connection: close``.

Why our own HTTP/1.1 rather than h11 (the state machine under httpx and httpcore): the exchange is
always the same single POST and single response, and h11's generality (its events, its state
machine, validating every header of both messages by regex, ours again after ``_request_head``
had) was more than half of the CPU of a delivery to a local receiver. So the request is written in
one send, and the response is parsed strictly by ``_ResponseReader``: status line, fields, and the
body framed as RFC 9112 §6.3 says for a response to a POST (no body for 204 and 304, chunked,
Content-Length, or until the server closes); anything else is a protocol error, never a guess.
What is shared per process is the TLS context, the costly part to build, and the checked form of
each URL.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeAlias
from urllib.parse import quote, urlsplit

import certifi
from django.conf import settings

logger = logging.getLogger(__name__)

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
ErrorKind = Literal["timeout", "connect", "tls", "too_large", "protocol"]

DEFAULT_MAX_BYTES = 64 * 1024
MAX_URL_LENGTH = 2048
USER_AGENT = "AIPhone360-Outbound/1.0"

_DEFAULT_PORTS = {"https": 443, "http": 80}
# Framing headers are ours to set; a caller supplying them would desynchronise the request.
_RESERVED_REQUEST_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Visible ASCII, with spaces and tabs only between words (RFC 9110 §5.5 field-value, less obs-text).
_HEADER_VALUE_RE = re.compile(r"[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*|")
_LABEL_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# A final label like this would make the name an (invalid) IPv4 literal to a URL parser.
_NUMERIC_LABEL_RE = re.compile(r"[0-9]+|0x[0-9a-f]*")
_PRIVATE_USE_SUFFIXES = (".local", ".internal", ".home.arpa")
_UNSAFE_URL_CHARS_RE = re.compile(r"[\x00-\x20\x7f\\]")
# Characters left as they are when percent-encoding the path and query (RFC 3986 pchar + "/?").
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class OutboundRefused(Exception):
    """The URL or its address is not allowed; raised before any connection is made."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboundError(Exception):
    """The URL was accepted but the exchange failed; ``kind`` says how."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes  # at most max_bytes
    elapsed_ms: int
    peer_ip: str


# ---------------------------------------------------------------------------------------------
# Address policy (pure)

# Addresses named so the refusal says what they are; all but Azure's sit in refused blocks anyway.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean … instance metadata
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.169.253",  # AWS VPC DNS resolver
        "168.63.129.16",  # Azure WireServer: a public address that only answers inside Azure
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud metadata
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fd00:ec2::253",  # AWS VPC DNS resolver over IPv6
        "fd20:ce::254",  # GCP metadata over IPv6
    )
)

_PRIVATE = "a private network address"
_DOCUMENTATION = "a documentation address"

# IANA special-purpose registries, spelled out rather than taken from ipaddress's is_global,
# whose answers change between Python versions (3.11 calls 192.0.0.192 global).
_IPV4_FORBIDDEN: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", _PRIVATE),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", _PRIVATE),
        ("192.0.0.0/24", "an IETF protocol-assignment address"),
        ("192.0.2.0/24", _DOCUMENTATION),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", _PRIVATE),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", _DOCUMENTATION),
        ("203.0.113.0/24", _DOCUMENTATION),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # includes 255.255.255.255
    )
)

_IPV6_FORBIDDEN: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible IPv6 address (deprecated)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),  # before ::/8, which contains it
        ("::/8", "a reserved address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnelling address"),
        ("2001::/23", "an IETF protocol-assignment address"),
        ("2001:db8::/32", _DOCUMENTATION),
        ("3fff::/20", _DOCUMENTATION),
        ("5f00::/16", "an SRv6 segment identifier"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"),
        ("ff00::/8", "a multicast address"),
    )
)
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def is_forbidden_address(ip: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``ip`` must not be contacted (a phrase to follow "<ip> is"), or None if it is public.

    With ``allow_loopback`` the loopback ranges (127/8, ::1 and ::ffff:127.0.0.0/104) pass;
    every other non-public range is still refused.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        # The scope id ("%eth0") does not change which host is reached; judge the bare address.
        ip = ipaddress.IPv6Address(int(ip))
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata service address"
    if isinstance(ip, ipaddress.IPv4Address):
        return _forbidden_v4(ip, allow_loopback=allow_loopback)
    return _forbidden_v6(ip, allow_loopback=allow_loopback)


def _forbidden_v4(ip: ipaddress.IPv4Address, *, allow_loopback: bool) -> str | None:
    if allow_loopback and ip.is_loopback:
        return None
    for network, reason in _IPV4_FORBIDDEN:
        if ip in network:
            return reason
    if not ip.is_global:  # a range IANA added after this table was written
        return "not a public address"
    return None


def _forbidden_v6(ip: ipaddress.IPv6Address, *, allow_loopback: bool) -> str | None:
    if allow_loopback and ip == ipaddress.IPv6Address(1):
        return None

    # Embeddings reach (or are translated to) the IPv4 address inside, so judge that address.
    # Only the mapped form really is that address, so only it inherits allow_loopback.
    if ip in _IPV4_MAPPED:
        inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return _embedded_reason("an IPv4-mapped", inner, allow_loopback=allow_loopback)
    if ip in _NAT64_WELL_KNOWN:
        inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return _embedded_reason("a NAT64", inner, allow_loopback=False)
    if ip in _SIX_TO_FOUR:
        inner = ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
        return _embedded_reason("a 6to4", inner, allow_loopback=False)

    for network, reason in _IPV6_FORBIDDEN:
        if ip in network:
            return reason
    if ip not in _GLOBAL_UNICAST:
        return "outside the global unicast range"
    if not ip.is_global:
        return "not a public address"
    return None


def _embedded_reason(form: str, inner: ipaddress.IPv4Address, *, allow_loopback: bool) -> str | None:
    reason = is_forbidden_address(inner, allow_loopback=allow_loopback)
    if reason is None:
        return None
    return f"{form} IPv6 address embedding {inner}, {reason}"


def parse_host_literal(host: str) -> IPAddress | None:
    """The IP address ``host`` spells, or None if it is a name.

    IPv4 is read the way inet_aton (and so getaddrinfo and browsers) read it: one to four
    dot-separated parts, each decimal, octal (leading 0) or hex (0x), the last part filling the
    remaining bytes: ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` are all 127.0.0.1.
    IPv6 may be bracketed; zone ids (``%eth0``) are not accepted.
    """
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            return None
    if ":" in host:
        if "%" in host:
            return None
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return _parse_inet_aton(host)


def _parse_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    if host.endswith("."):  # "127.0.0.1." is the same address to resolvers and browsers
        host = host[:-1]
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_parse_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ipv4_number(part: str) -> int | None:
    if re.fullmatch(r"0[xX][0-9a-fA-F]*", part):
        return int(part[2:] or "0", 16)
    if re.fullmatch(r"0[0-7]+", part):
        return int(part, 8)
    if re.fullmatch(r"0|[1-9][0-9]*", part):
        return int(part)
    return None


# ---------------------------------------------------------------------------------------------
# URL policy (pure)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lower-case ASCII name without a trailing dot, or the literal address as text
    port: int
    literal: IPAddress | None
    request_target: str  # percent-encoded path and query, never empty
    # Accepted only provisionally: plain http or a port outside the allowed list, which
    # OUTBOUND_ALLOW_LOOPBACK permits once the name is seen to resolve to loopback alone.
    loopback_only: bool

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def _parse_target(url: str, *, allow_loopback: bool, allowed_ports: Collection[int]) -> _Target:
    """Check everything about ``url`` that needs no DNS; raise OutboundRefused if it fails."""
    if not isinstance(url, str) or not url:
        _refuse("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        _refuse(f"the URL is longer than {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines, and browsers read "\" as "/": refuse both
    # rather than check one reading of the URL and use another.
    if _UNSAFE_URL_CHARS_RE.search(url):
        _refuse("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:
        _refuse("the URL is not valid")

    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        _refuse("only https:// URLs are allowed")
    if not parts.netloc:
        _refuse("the URL has no host")
    if "@" in parts.netloc:
        _refuse("URLs with a user name or password are not allowed; send credentials in headers")

    raw_host, port = _split_host_port(parts.netloc, default_port=_DEFAULT_PORTS[scheme])
    host = raw_host.lower()
    if not host:
        _refuse("the URL has no host")
    if not host.isascii():
        _refuse("internationalised host names must be written in their ASCII (xn--) form")
    if "%" in host:
        _refuse(f"the host {host!r} contains percent-encoding or an IPv6 zone id")

    literal = parse_host_literal(host)
    https_port_ok = scheme == "https" and port in allowed_ports
    policy_refusal = f"only https:// on port {_describe_ports(allowed_ports)} is allowed"
    if literal is not None:
        if ":" in raw_host and not raw_host.startswith("["):
            _refuse("IPv6 addresses must be written in [brackets]")
        reason = is_forbidden_address(literal, allow_loopback=allow_loopback)
        if reason:
            spelled = host if host.strip("[]") == str(literal) else f"{host} ({literal})"
            _refuse(f"{spelled} is {reason}")
        if not https_port_ok and not _is_loopback(literal):
            _refuse(policy_refusal)
        host = str(literal)
        loopback_only = False  # a literal is already known to be loopback or not
    else:
        host = host.removesuffix(".")
        _check_host_name(host, allow_loopback=allow_loopback)
        is_localhost = host == "localhost" or host.endswith(".localhost")
        if not https_port_ok and not allow_loopback:
            _refuse(policy_refusal)
        loopback_only = not https_port_ok or is_localhost

    return _Target(
        scheme=scheme,
        host=host,
        port=port,
        literal=literal,
        request_target=_request_target(parts.path, parts.query),
        loopback_only=loopback_only,
    )


@functools.lru_cache(maxsize=4096)
def _checked_target(url: str, *, allow_loopback: bool, allowed_ports: frozenset[int]) -> _Target:
    """``_parse_target`` remembered per URL and policy: it is a pure function of them (no DNS), and
    a busy endpoint's URL is checked again for every request. A refusal raises, so it is never kept."""
    return _parse_target(url, allow_loopback=allow_loopback, allowed_ports=allowed_ports)


def _split_host_port(netloc: str, *, default_port: int) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            _refuse("the URL has an unterminated [IPv6] host")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            _refuse("the URL has text after its [IPv6] host")
        port_text = rest[1:]
        if parse_host_literal(host) is None:
            _refuse(f"{host} is not a valid IPv6 address")
    elif netloc.count(":") > 1:
        host, port_text = netloc, ""  # an unbracketed IPv6 address; refused by the caller
    else:
        host, _, port_text = netloc.partition(":")
    if not port_text:
        return host, default_port
    if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 1 <= int(port_text) <= 65535:
        _refuse(f"{port_text!r} is not a valid port")
    return host, int(port_text)


def _check_host_name(host: str, *, allow_loopback: bool) -> None:
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        _refuse(f"{host!r} is not a valid host name")
    if _NUMERIC_LABEL_RE.fullmatch(labels[-1]):
        _refuse(f"{host!r} is neither a valid IP address nor a host name")
    if host == "localhost" or host.endswith(".localhost"):
        if not allow_loopback:
            _refuse(f"{host} is a loopback address")
        return
    if len(labels) < 2:
        # Single-label names resolve through the server's search domains: internal by nature.
        _refuse(f"{host!r} is not a fully qualified public host name")
    if host.endswith(_PRIVATE_USE_SUFFIXES):
        _refuse(f"{host} is a private-use name, not a public host name")


def _request_target(path: str, query: str) -> str:
    target = quote(path, safe=_PATH_SAFE) or "/"
    if query:
        target += "?" + quote(query, safe=_QUERY_SAFE)
    return target


def _describe_ports(ports: Collection[int]) -> str:
    return " or ".join(str(p) for p in sorted(ports)) or "(none configured)"


def _is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _refuse(reason: str) -> NoReturn:
    raise OutboundRefused(reason)


# ---------------------------------------------------------------------------------------------
# Public entry points


def validate_url(url: str) -> None:
    """Refuse a webhook or tool URL at creation time: syntax, scheme, port and literal IPs.

    No DNS here; names are resolved and checked again on every request by ``post``.
    """
    _parse_target(url, allow_loopback=_allow_loopback(), allowed_ports=_allowed_ports())


# Observers of every POST (metrics, in ops/instrument.py): called with (url, headers, body) before the
# request; each may return a callback, called with (response, exception) once it ends. They must not raise.
Finish: TypeAlias = Callable[["OutboundResponse | None", "BaseException | None"], None]
Observer: TypeAlias = Callable[[str, Mapping[str, str], bytes], "Finish | None"]
observers: list[Observer] = []


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    truncate: bool = False,
) -> OutboundResponse:
    """`_post`, seen by the observers."""
    finishes = [finish for observer in observers if (finish := observer(url, headers, body)) is not None]
    if not finishes:
        return _post(url, body=body, headers=headers, timeout=timeout, max_bytes=max_bytes, truncate=truncate)
    response: OutboundResponse | None = None
    error: BaseException | None = None
    try:
        response = _post(url, body=body, headers=headers, timeout=timeout, max_bytes=max_bytes, truncate=truncate)
        return response
    except BaseException as exc:
        error = exc
        raise
    finally:
        for finish in finishes:
            finish(response, error)


def _post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    truncate: bool = False,
) -> OutboundResponse:
    """POST ``body`` to ``url`` under the SSRF policy; a 3xx is returned, never followed.

    ``timeout`` bounds the whole call (DNS, connect, TLS, send, read). A body longer than
    ``max_bytes`` raises OutboundError("too_large"), or with ``truncate`` is cut to its prefix.
    Raises OutboundRefused before connecting, OutboundError after.
    """
    if not isinstance(body, bytes):
        raise TypeError("body must be bytes: it is signed and sent exactly as given")
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")

    started = time.monotonic()
    deadline = started + timeout
    allow_loopback = _allow_loopback()
    try:
        allowed_ports = _allowed_ports()
        target = _checked_target(url, allow_loopback=allow_loopback, allowed_ports=allowed_ports)
        request_head = _request_head(target, headers, content_length=len(body))
        if target.literal is not None:
            peer = target.literal
        else:
            peer = _resolve_checked(
                target, allow_loopback=allow_loopback, allowed_ports=allowed_ports, deadline=deadline
            )
    except OutboundRefused as exc:
        logger.info("outbound POST refused: %s", exc.reason)
        raise

    sock = _DeadlineSocket(_connect(target, peer, deadline=deadline, timeout=timeout), deadline)
    try:
        status, response_headers, response_body = _exchange(
            sock, target, request_head, body, max_bytes=max_bytes, truncate=truncate
        )
    except (TimeoutError, _DeadlinePassed) as exc:
        raise OutboundError("timeout", f"{target.host} did not answer within {timeout:g} s") from exc
    except _InvalidResponse as exc:
        raise OutboundError("protocol", f"{target.host} sent an invalid HTTP response: {exc}") from exc
    except _TooLarge:
        raise OutboundError("too_large", f"the response from {target.host} is larger than {max_bytes} bytes") from None
    except OSError as exc:
        raise OutboundError("connect", f"the connection to {target.host} failed: {exc}") from exc
    finally:
        sock.close()

    elapsed_ms = int((time.monotonic() - started) * 1000)
    logger.debug("outbound POST to %s (%s): %s in %d ms", target.host, peer, status, elapsed_ms)
    return OutboundResponse(
        status=status,
        headers=response_headers,
        body=response_body,
        elapsed_ms=elapsed_ms,
        peer_ip=str(peer),
    )


# ---------------------------------------------------------------------------------------------
# The exchange


def _allow_loopback() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False))


def _allowed_ports() -> frozenset[int]:
    return frozenset(int(p) for p in getattr(settings, "OUTBOUND_ALLOWED_PORTS", [443]))


def _request_head(target: _Target, headers: Mapping[str, str], *, content_length: int) -> bytes:
    """The request line, our framing headers and the caller's, validated here so no error echoes a value."""
    given: list[str] = []
    names: set[str] = set()
    for name, value in headers.items():
        if not _HEADER_NAME_RE.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        lowered = name.lower()
        if lowered in _RESERVED_REQUEST_HEADERS:
            raise ValueError(f"the {name} header is set by the outbound client")
        if not _HEADER_VALUE_RE.fullmatch(value):
            raise ValueError(
                f"the value of the {name} header has non-ASCII or control characters, or starts or ends with a space"
            )
        names.add(lowered)
        given.append(f"{name}: {value}\r\n")
    ours = [
        f"POST {target.request_target} HTTP/1.1\r\n",
        f"Host: {target.host_header}\r\n",
        f"Content-Length: {content_length}\r\n",
        # One connection per request: never pooled, so never reused for another hostname.
        "Connection: close\r\n",
    ]
    if "user-agent" not in names:
        ours.append(f"User-Agent: {USER_AGENT}\r\n")
    if "accept-encoding" not in names:
        # Without it any content coding is acceptable; we store bodies as received.
        ours.append("Accept-Encoding: identity\r\n")
    return "".join([*ours, *given, "\r\n"]).encode("ascii")


def _resolve_checked(
    target: _Target, *, allow_loopback: bool, allowed_ports: Collection[int], deadline: float
) -> IPAddress:
    """Resolve the name once, refuse if any address is forbidden, return the one to pin."""
    addresses = _resolve(target.host, target.port, deadline=deadline)
    for ip in addresses:
        reason = is_forbidden_address(ip, allow_loopback=allow_loopback)
        if reason:
            _refuse(f"{target.host} resolves to {ip}, which is {reason}")
        if target.loopback_only and not _is_loopback(ip):
            _refuse(
                f"{target.host} resolves to {ip}; only https:// on port "
                f"{_describe_ports(allowed_ports)} is allowed for non-loopback receivers"
            )
    return addresses[0]


def _resolve(host: str, port: int, *, deadline: float) -> list[IPAddress]:
    # getaddrinfo cannot be interrupted and can block far longer than our deadline, so it runs
    # on a throwaway daemon thread we stop waiting for. A fresh thread, not a pool: nothing to
    # break when Celery forks workers.
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="outbound-dns", daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0)):
        raise OutboundError("timeout", f"looking up {host} took too long")
    result = outcome[0]
    if isinstance(result, socket.gaierror):
        raise OutboundError("connect", f"{host} could not be resolved")
    if isinstance(result, BaseException):
        raise OutboundError("connect", f"looking up {host} failed: {result}")

    addresses: list[IPAddress] = []
    for family, _type, _proto, _canonname, sockaddr in result:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise OutboundError("connect", f"{host} has no IP addresses")
    return addresses


def _connect(target: _Target, peer: IPAddress, *, deadline: float, timeout: float) -> socket.socket:
    """A socket connected to ``peer`` itself (no lookup), wrapped in TLS verified for the host."""
    family = socket.AF_INET6 if peer.version == 6 else socket.AF_INET
    raw = socket.socket(family, socket.SOCK_STREAM)
    try:
        raw.settimeout(_remaining(deadline))
        raw.connect((str(peer), target.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if target.scheme == "http":
            return raw
        raw.settimeout(_remaining(deadline))
        # For a name, SNI and certificate checks use the name; for a literal, the IP SAN.
        return _ssl_context().wrap_socket(raw, server_hostname=target.host)
    except (TimeoutError, _DeadlinePassed) as exc:
        raw.close()
        raise OutboundError("timeout", f"connecting to {target.host} took longer than {timeout:g} s") from exc
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        raise OutboundError("tls", f"the TLS certificate of {target.host} is not valid: {exc.verify_message}") from exc
    except ssl.SSLError as exc:
        raw.close()
        raise OutboundError("tls", f"the TLS handshake with {target.host} failed: {exc.reason}") from exc
    except OSError as exc:
        raw.close()
        raise OutboundError("connect", f"could not connect to {target.host} ({peer}): {exc.strerror or exc}") from exc


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The process-wide TLS settings: certifi roots, hostname checking, TLS 1.2+, HTTP/1.1."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


class _DeadlinePassed(Exception):
    pass


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _DeadlinePassed
    return remaining


class _DeadlineSocket:
    """A connected socket whose every read and write must finish by the request's deadline.

    A timeout per socket operation would let a server trickling a byte at a time hold a request
    open indefinitely; clamping each operation to what is left of the total makes ``timeout`` a
    true bound. Raises _DeadlinePassed or TimeoutError when it is reached, OSError when the
    connection fails.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def read(self, max_bytes: int) -> bytes:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv(max_bytes)

    def write(self, buffer: bytes) -> None:
        # send() in a loop rather than sendall(): an SSL socket's sendall restarts the timeout
        # for every piece it sends.
        view = memoryview(buffer)
        while view:
            self._sock.settimeout(_remaining(self._deadline))
            view = view[self._sock.send(view) :]

    def close(self) -> None:
        self._sock.close()


# ---------------------------------------------------------------------------------------------
# The HTTP/1.1 exchange: one POST, one response, then the connection is closed

_READ_BYTES = 65536
# A response head (status line and fields) longer than this is refused, as h11 refuses one by default;
# the same bound applies to a chunk-size line and to the trailer section.
_MAX_HEAD_BYTES = 16 * 1024
# RFC 9112 §2.2 lets a recipient take a bare LF as a line end; h11 did, so we do too.
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_LINE_END_RE = re.compile(rb"\r?\n")
_STATUS_LINE_RE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: [\t\x20-\x7e\x80-\xff]*)?")
_FIELD_NAME_RE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE_INVALID_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but HTAB
_CHUNK_LINE_RE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?")  # extensions ignored
_CONTENT_LENGTH_RE = re.compile(r"[0-9]{1,18}")


class _InvalidResponse(Exception):
    """The server's bytes are not a valid HTTP/1.1 response to our POST."""


class _TooLarge(Exception):
    """The response body is longer than ``max_bytes`` and is not to be truncated."""


def _exchange(
    sock: _DeadlineSocket,
    target: _Target,
    request_head: bytes,
    body: bytes,
    *,
    max_bytes: int,
    truncate: bool,
) -> tuple[int, dict[str, str], bytes]:
    """One POST and its response on ``sock``: (status, lower-cased headers, body up to ``max_bytes``).

    Interim (1xx) responses are skipped. Raises _TooLarge, or _InvalidResponse for anything that is
    not valid HTTP/1.1, a connection closed before the response ended included."""
    sock.write(request_head + body)
    reader = _ResponseReader(sock)
    version, status, headers = reader.head()
    while status < 200:
        if status == 101:
            raise _InvalidResponse("101 Switching Protocols, though no upgrade was asked for")
        version, status, headers = reader.head()

    # RFC 9112 §6.3, for a response to a POST.
    if status in (204, 304):
        return status, headers, b""
    transfer_encoding = headers.get("transfer-encoding")
    if transfer_encoding is not None:
        # Both framings at once is how responses are split (§6.3, item 3): refused, not guessed at.
        if "content-length" in headers:
            raise _InvalidResponse("both Transfer-Encoding and Content-Length")
        if transfer_encoding.lower() != "chunked" or version == 0:
            raise _InvalidResponse("a Transfer-Encoding other than chunked, or on an HTTP/1.0 response")
        return status, headers, reader.chunked(max_bytes=max_bytes, truncate=truncate)
    if "content-length" in headers:
        length = _content_length(headers["content-length"])
        if length > max_bytes and not truncate:
            raise _TooLarge  # no need to download what we would refuse
        return status, headers, reader.exactly(min(length, max_bytes))
    return status, headers, reader.until_close(max_bytes=max_bytes, truncate=truncate)


def _content_length(value: str) -> int:
    # Repeated fields were joined with ", "; identical copies are allowed (RFC 9110 §8.6).
    lengths = {length.strip(" \t") for length in value.split(",")}
    if len(lengths) != 1:
        raise _InvalidResponse("conflicting Content-Length values")
    [length] = lengths
    if not _CONTENT_LENGTH_RE.fullmatch(length):
        raise _InvalidResponse("an invalid Content-Length")
    return int(length)


def _parse_fields(lines: Iterable[bytes]) -> dict[str, str]:
    """Header (or trailer) lines as a dict: lower-cased names, repeated ones joined with ", "."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME_RE.fullmatch(name):
            if line[:1] in (b" ", b"\t"):
                raise _InvalidResponse("a folded header line (obs-fold)")
            raise _InvalidResponse("an invalid header line")
        value = value.strip(b" \t")
        if _FIELD_VALUE_INVALID_RE.search(value):
            raise _InvalidResponse("control characters in a header value")
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class _ResponseReader:
    """The response's bytes as they are needed: ``_buffer`` holds those received and not yet parsed.

    Reads ask for no more than the part being read needs (a whole head may arrive in one read)."""

    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _receive(self, max_bytes: int = _READ_BYTES) -> None:
        data = self._sock.read(max_bytes)
        if not data:
            raise _InvalidResponse("the connection closed before the response ended (cut short)")
        self._buffer += data

    def head(self) -> tuple[int, int, dict[str, str]]:
        """(minor version, status, headers) of the next response head."""
        searched = 0
        # A blank line not yet found ends at least 3 bytes back: no need to search there again.
        while (end := _HEAD_END_RE.search(self._buffer, max(searched - 3, 0))) is None:
            if len(self._buffer) - 3 > _MAX_HEAD_BYTES:  # the blank line could only start past the cap
                raise _InvalidResponse(f"a response head longer than {_MAX_HEAD_BYTES} bytes")
            searched = len(self._buffer)
            self._receive()
        if end.start() > _MAX_HEAD_BYTES:
            raise _InvalidResponse(f"a response head longer than {_MAX_HEAD_BYTES} bytes")
        status_line, *lines = _LINE_END_RE.split(self._buffer[: end.start()])
        del self._buffer[: end.end()]
        if not (match := _STATUS_LINE_RE.fullmatch(status_line)):
            raise _InvalidResponse(f"an invalid status line {bytes(status_line[:40])!r}")
        return int(match[1]), int(match[2]), _parse_fields(lines)

    def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._receive(min(size - len(self._buffer), _READ_BYTES))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def line(self) -> bytes:
        """The next line, without its line end."""
        searched = 0
        while (end := self._buffer.find(b"\n", searched)) == -1:
            if len(self._buffer) > _MAX_HEAD_BYTES:
                raise _InvalidResponse(f"a line longer than {_MAX_HEAD_BYTES} bytes in the body")
            searched = len(self._buffer)
            self._receive()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line.removesuffix(b"\r")

    def chunked(self, *, max_bytes: int, truncate: bool) -> bytes:
        body = bytearray()
        while True:
            if not (match := _CHUNK_LINE_RE.fullmatch(self.line())):
                raise _InvalidResponse("an invalid chunk size line")
            size = int(match[1], 16)
            if size == 0:
                break
            if len(body) + size > max_bytes:
                if not truncate:
                    raise _TooLarge
                body += self.exactly(max_bytes - len(body))
                return bytes(body)  # leaving the rest unread: the connection is closed
            body += self.exactly(size)
            if self.line():
                raise _InvalidResponse("chunk data longer than its size")
        trailers: list[bytes] = []
        trailer_bytes = 0
        while line := self.line():
            trailer_bytes += len(line)
            if trailer_bytes > _MAX_HEAD_BYTES:
                raise _InvalidResponse(f"trailers longer than {_MAX_HEAD_BYTES} bytes")
            trailers.append(line)
        _parse_fields(trailers)  # checked, then dropped: nothing we keep comes from trailers
        return bytes(body)

    def until_close(self, *, max_bytes: int, truncate: bool) -> bytes:
        # One byte past the cap tells a body that is too large from one that fits exactly.
        needed = max_bytes if truncate else max_bytes + 1
        while len(self._buffer) < needed and (data := self._sock.read(min(needed - len(self._buffer), _READ_BYTES))):
            self._buffer += data
        if len(self._buffer) > max_bytes and not truncate:
            raise _TooLarge
        return bytes(self._buffer[:max_bytes])
