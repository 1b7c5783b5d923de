"""The headers of a webhook request, built from the parts an attempt row stores.

An attempt stores only what differs between attempts (its number, the signature's digests and the
time they were made); the body is its event's and the rest of the headers follow from the event and
the delivery. The engine builds what it sends with ``request_headers`` and the delivery log rebuilds
what was sent with the same function, so the two cannot drift apart. Changing the header set or
``USER_AGENT`` changes what old attempts would show: such a change needs a migration that writes
X

Pure module: no Django.
"""

from __future__ import annotations

from core.signing import HEADER_NAME

USER_AGENT = "AIPhone360-Webhooks/1.0"
DIGEST_BYTES = 32  # one HMAC-SHA256 per secret that signed


def request_headers(
    *, signature: str, event_id: str, event_type: str, mode: str, delivery_id: str, number: int
) -> dict[str, str]:
    """Every header a delivery attempt sends, in the order it sends them."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_NAME: signature,
        "X-AIP-Event-Id": event_id,
        "X-AIP-Event-Type": event_type,
        "X-AIP-Delivery-Id": delivery_id,
        "X-AIP-Attempt": str(number),
        "X-AIP-Mode": mode,
    }


def signature_digests(header: str, *, timestamp: int) -> bytes | None:
    """The ``v1`` digests of a signature header, concatenated, when the header is exactly
    ``t=<timestamp>,v1=<hex>[,v1=<hex>...]`` (what ``core.signing.sign`` writes); None otherwise."""
    parts = header.split(",")
    if parts[0] != f"t={timestamp}" or len(parts) < 2:
        return None
    digests = b""
    for part in parts[1:]:
        hex_digest = part.removeprefix("v1=")
        if len(hex_digest) != 2 * DIGEST_BYTES or hex_digest != hex_digest.lower() or part == hex_digest:
            return None
        try:
            digests += bytes.fromhex(hex_digest)
        except ValueError:
            return None
    return digests


def signature_header(digests: bytes, *, timestamp: int) -> str:
    """The header ``signature_digests`` took apart."""
    hexes = [digests[i : i + DIGEST_BYTES].hex() for i in range(0, len(digests), DIGEST_BYTES)]
    return ",".join([f"t={timestamp}", *(f"v1={h}" for h in hexes)])
