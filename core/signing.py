"""The X-AIP-Signature scheme for webhooks and custom-tool calls.

This is a public contract that customers verify with their own code, so it must match the
documentation byte for byte:

    X-AIP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

While an endpoint's secret is being rotated the header carries one ``v1`` per live secret
(``t=123,v1=aaa,v1=bbb``) so receivers holding either the old or the new secret accept it.
Pure module: no Django, no clock unless the caller omits ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Sequence

HEADER_NAME = "X-AIP-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300

# ASCII digits only: int() would also accept "+12", " 12", "1_2" and other scripts' digits.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


class SignatureError(ValueError):
    """The header is malformed, stale, or carries no signature made with the given secret."""


def generate_secret() -> str:
    """A new endpoint signing secret; 32 random bytes, URL-safe so it pastes cleanly."""
    return SECRET_PREFIX + _secrets.token_urlsafe(32)


def compute_signature(*, secret: str, body: bytes, timestamp: int) -> str:
    """Hex HMAC-SHA256 over ``b"<timestamp>." + body``; the secret (prefix included) is the key."""
    signed_payload = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), signed_payload, hashlib.sha256).hexdigest()


def sign(*, secrets: Sequence[str], body: bytes, timestamp: int) -> str:
    """The full header value: ``t=<timestamp>`` then one ``v1=`` per secret, in the given order."""
    if isinstance(secrets, str):
        # A bare string is a Sequence[str] too; signing with each character would be a silent bug.
        raise TypeError("secrets must be a sequence of secret strings, not a single string")
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    if timestamp < 0:
        raise ValueError("timestamp must be a non-negative unix time")
    parts = [f"t={timestamp}"]
    parts += [f"v1={compute_signature(secret=s, body=body, timestamp=timestamp)}" for s in secrets]
    return ",".join(parts)


def verify(
    *,
    header: str,
    body: bytes,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: int | None = None,
) -> int:
    """Check a header against the raw body; return its timestamp or raise SignatureError.

    A timestamp exactly ``tolerance`` seconds away (past or future) is still accepted.
    """
    timestamp, candidates = _parse_header(header)
    if not candidates:
        raise SignatureError("signature header has no v1 signature")

    current = int(time.time()) if now is None else now
    age = current - timestamp
    if age > tolerance:
        raise SignatureError(f"signature timestamp is {age} seconds old; the limit is {tolerance}")
    if -age > tolerance:
        raise SignatureError(f"signature timestamp is {-age} seconds in the future; the limit is {tolerance}")

    expected = compute_signature(secret=secret, body=body, timestamp=timestamp).encode("ascii")
    # Check every candidate (no early exit) so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8"))
    if not matched:
        raise SignatureError("no v1 signature matches the body and secret")
    return timestamp


def _parse_header(header: str) -> tuple[int, list[str]]:
    """Split ``t=…,v1=…[,v1=…]`` into the timestamp and the v1 values.

    Unknown schemes (``v0=…``) are ignored so a future scheme can be added alongside v1.
    """
    if not isinstance(header, str) or not header.strip():
        raise SignatureError("signature header is missing or empty")

    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not key or not value:
            raise SignatureError(f"signature header is malformed: expected key=value, got {item!r}")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)

    if len(timestamps) != 1:
        raise SignatureError("signature header must carry exactly one t= timestamp")
    if not _TIMESTAMP_RE.fullmatch(timestamps[0]):
        raise SignatureError("signature header timestamp is not a unix time in seconds")
    return int(timestamps[0]), candidates
