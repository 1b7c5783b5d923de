"""Time on the wire: ISO 8601 in UTC with a `Z`, and parsing it back. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime


def iso(value: datetime | None) -> str | None:
    """The one rendering of a moment on the wire: UTC with a `Z`, whatever zone the value was made in."""
    return in_utc(value).isoformat().replace("+00:00", "Z") if value else None


def in_utc(moment: datetime) -> datetime:
    """An aware date-time in UTC. PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 allows; a moment
    within hours of year 1 or 9999 that UTC cannot hold becomes the first or last instant it can."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def parse_iso_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date-time string as an aware UTC date-time (no offset means UTC); None if it is not one."""
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible, e.g. 12:99
        parsed = None
    if parsed is None:
        return None
    return in_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
