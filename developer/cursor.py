"""Opaque keyset cursors: base64url of the last row's (timestamp, public id). Pure functions."""

import base64
import binascii
import json
from datetime import datetime, timezone


class InvalidCursor(ValueError):
    pass


def encode_cursor(created: datetime, public_id: str) -> str:
    raw = json.dumps([created.isoformat(), public_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, public_id = json.loads(raw)
        value = datetime.fromisoformat(created)
        # In UTC, as encoded: a forged offset beyond ±15:59 would make PostgreSQL fail the query.
        value = value.astimezone(timezone.utc) if value.tzinfo is not None else value
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidCursor("The cursor is not one this API returned.") from exc
    if value.tzinfo is None or not isinstance(public_id, str) or not public_id or "\x00" in public_id:
        raise InvalidCursor("The cursor is not one this API returned.")
    return value, public_id
