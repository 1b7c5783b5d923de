"""The `dateRange` filter of `GET /calls`: presets and explicit ranges in the business's time zone.

Pure: takes the raw query value, the business's zone and "now", returns an aware [start, end]
interval (both ends inclusive) or raises `InvalidDateRange` with a message for the caller.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# Presets count calendar days in the business's zone, today included: "7d" on a Friday afternoon
# starts at midnight on the Saturday before, so "7d" never shows a partial first day.
PRESET_DAYS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30, "90d": 90}

HELP = (
    "Use one of today, 7d, 30d, 90d, or 'FROM,TO' with ISO 8601 dates or date-times "
    "(e.g. 2026-06-01,2026-06-30), read in the business's time zone; both ends are inclusive."
)


class InvalidDateRange(ValueError):
    pass


@dataclass(frozen=True)
class DateRange:
    start: datetime.datetime
    end: datetime.datetime  # inclusive


def parse_date_range(raw: str, *, tz: str, now: datetime.datetime) -> DateRange:
    zone = ZoneInfo(tz)
    value = raw.strip()
    if value in PRESET_DAYS:
        today = now.astimezone(zone).date()
        first_day = today - datetime.timedelta(days=PRESET_DAYS[value] - 1)
        return DateRange(start=_midnight(first_day, zone), end=now)

    parts = value.split(",")
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise InvalidDateRange(HELP)
    start = _bound(parts[0].strip(), zone, upper=False)
    end = _bound(parts[1].strip(), zone, upper=True)
    if start > end:
        raise InvalidDateRange("The start of the range is after its end.")
    return DateRange(start=start, end=end)


def _bound(text: str, zone: ZoneInfo, *, upper: bool) -> datetime.datetime:
    """A date means the whole day: from its first instant, or up to its last one when it ends a range."""
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        try:
            if upper:
                return _midnight(day + datetime.timedelta(days=1), zone) - datetime.timedelta(microseconds=1)
            return _midnight(day, zone)
        except OverflowError:  # the day after 9999-12-31
            return _utc_edge(day.year)
    if "T" in text and " " in text:  # an unencoded '+' of a UTC offset arrives in a query string as a space
        text = text.replace(" ", "+")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidDateRange(f"'{text[:40]}' is not a valid date or date-time. {HELP}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    # In UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 (and fromisoformat) allow.
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:  # within hours of year 1 or 9999
        return _utc_edge(moment.year)


def _utc_edge(year: int) -> datetime.datetime:
    """The first or last instant a date-time can hold, for a bound at the very edge of the calendar."""
    return (datetime.datetime.min if year == 1 else datetime.datetime.max).replace(tzinfo=datetime.UTC)


def _midnight(day: datetime.date, zone: ZoneInfo) -> datetime.datetime:
    # Where a DST jump skips midnight (e.g. America/Santiago), fold=0 reads it with the offset in
    # force before the jump, which is exactly the first instant of that local day.
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
