"""Webhook signature verification.

Every delivery carries ``X-AIP-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`` where each v1 is
HMAC-SHA256(secret, "<t>.<raw body>") in hex. While a secret is being rotated the header carries
one v1 per live secret, so a receiver holding either secret accepts the delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Sequence

from ._errors import WebhookVerificationError
from .types import EVENT_CLASSES, Event, WebhookEvent

SIGNATURE_HEADER = "X-AIP-Signature"
DEFAULT_TOLERANCE = 300

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not key or not value:
            raise WebhookVerificationError(f"Malformed signature header: expected key=value, got {item.strip()!r}.")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
        # Other schemes (v0=…) are ignored so a future scheme can ride alongside v1.
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise WebhookVerificationError("The signature header must carry exactly one t=<unix seconds> timestamp.")
    if not signatures:
        raise WebhookVerificationError("The signature header carries no v1 signature.")
    return int(timestamps[0]), signatures


def verify_webhook(
    raw_body: bytes | str,
    signature_header: str | Sequence[str] | None,
    secret: str | None,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: int | None = None,
) -> Event:
    """Check a delivery's signature over its raw body and return the parsed event, typed by its
    ``type`` (``if event.type == "call.completed":`` makes ``event.data`` a ``Call``).

    Pass the exact bytes received (``request.body`` in Django, ``await request.body()`` in
    Starlette), not re-serialised JSON. Raises WebhookVerificationError when the header is missing
    or malformed, the timestamp is more than ``tolerance`` seconds old (or ahead), or no v1 matches.
    """
    if not secret:
        raise WebhookVerificationError("No webhook signing secret (whsec_…) was given.")
    header = ",".join(signature_header) if isinstance(signature_header, (list, tuple)) else signature_header
    if not isinstance(header, str) or not header.strip():
        raise WebhookVerificationError("The X-AIP-Signature header is missing.")
    if isinstance(raw_body, str):
        body = raw_body.encode("utf-8")
    elif isinstance(raw_body, (bytes, bytearray, memoryview)):
        body = bytes(raw_body)
    else:
        raise WebhookVerificationError(
            "The raw request body must be bytes or str (not parsed JSON): the signature covers the exact bytes."
        )
    timestamp, signatures = _parse(header)

    current = int(time.time()) if now is None else now
    age = current - timestamp
    if age > tolerance:
        raise WebhookVerificationError(f"The signature timestamp is {age} seconds old; the limit is {tolerance}.")
    if -age > tolerance:
        raise WebhookVerificationError(
            f"The signature timestamp is {-age} seconds in the future; the limit is {tolerance}."
        )

    expected = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    # Compare against every candidate, without stopping at the first match, in constant time each.
    matched = False
    for candidate in signatures:
        if _HEX_SHA256.fullmatch(candidate):
            matched |= hmac.compare_digest(expected, candidate.lower())
    if not matched:
        raise WebhookVerificationError("No v1 signature matches the body and secret.")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("The signature is valid but the body is not JSON.") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError("The signature is valid but the body is not a JSON object.")
    event_class = EVENT_CLASSES.get(str(payload.get("type")), WebhookEvent)
    # An event type newer than this SDK arrives as a plain WebhookEvent (its type is not in the union).
    event: Event = event_class(payload)  # type: ignore[assignment]
    return event


def sign_webhook(raw_body: bytes | str, secrets: str | Sequence[str], timestamp: int | None = None) -> str:
    """Build a signature header, for your own tests of a webhook receiver."""
    body = raw_body.encode("utf-8") if isinstance(raw_body, str) else bytes(raw_body)
    t = int(time.time()) if timestamp is None else timestamp
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    parts = [f"t={t}"]
    parts += [f"v1={hmac.new(k.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}" for k in keys]
    return ",".join(parts)
