"""Opaque keyset cursors: base64url of the last row's (timestamp, public id), and the filter that resumes after one."""

import base64
import binascii
import json
from datetime import UTC, datetime

from django.db.models import Q, QuerySet


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
        value = value.astimezone(UTC) if value.tzinfo is not None else value
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidCursor("The cursor is not one this API returned.") from exc
    if value.tzinfo is None or not isinstance(public_id, str) or not public_id or "\x00" in public_id:
        raise InvalidCursor("The cursor is not one this API returned.")
    return value, public_id


def keyset_after(
    queryset: QuerySet, value: datetime, last_id: str, *, time_field: str = "created_at", id_field: str = "public_id"
) -> QuerySet:
    """The rows after (value, last_id) in newest-first (time, id) order: the one keyset filter of every list.

    The redundant `<=` bound lets the database range-scan the (org, time, id) index.
    """
    return queryset.filter(**{f"{time_field}__lte": value}).filter(
        Q(**{f"{time_field}__lt": value}) | Q(**{time_field: value, f"{id_field}__lt": last_id})
    )
