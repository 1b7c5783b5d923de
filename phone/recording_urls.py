"""Signed, expiring URLs for call recordings, served by the app at /media/recordings/<id>.

The signature is an HMAC (Django's signing, keyed by SECRET_KEY with its own salt) over the
recording id and the expiry, so a URL can be handed to a browser or an audio player without an
API key, cannot be altered to reach another recording, and stops working when it expires.
"""

from __future__ import annotations

import hmac

from django.core import signing

_SALT = "phone.recording-url"


def _signature(recording_id: str, expires: int) -> str:
    return signing.Signer(salt=_SALT).signature(f"{recording_id}:{expires}")


def sign(recording_id: str, expires: int) -> str:
    """The query string for `recording_id` valid until the unix time `expires`."""
    return f"expires={expires}&signature={_signature(recording_id, expires)}"


def verify(recording_id: str, expires: str | None, signature: str | None, *, now: float) -> bool:
    if not expires or not signature or not expires.isdigit():
        return False
    if int(expires) < now:
        return False
    return hmac.compare_digest(_signature(recording_id, int(expires)), signature)
