"""Pure arithmetic of free quotas, billable units, calendar months and money strings (no Django).

Kept apart so the boundaries (999, 1,000 and 1,001 requests, the block that completes) are unit
tested exactly, and so the API, the dashboard and the CSV export format money the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

# API requests are billed in blocks of this many requests once the free quota is used up.
API_REQUEST_BLOCK = 1_000


def billable_units(*, used: int, free: int, unit_size: int = 1) -> int:
    """Whole billable units in `used` after `free` units are given away; a partial block is not billable yet."""
    return max(0, used - free) // unit_size


def units_to_bill(*, used_after: int, free: int, already_billed: int, unit_size: int = 1) -> int:
    """How many more units to charge now that usage reached `used_after`.

    Counting against what has already been billed (rather than the usage before this event) means a
    free quota changed mid-month never charges a unit twice and never refunds one.
    """
    return max(0, billable_units(used=used_after, free=free, unit_size=unit_size) - already_billed)


def month_start(moment: datetime | date) -> date:
    """The first day of the calendar month (UTC) that `moment` falls in."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def next_month_start(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def hour_start(moment: datetime) -> datetime:
    """The UTC hour bucket a moment is rolled up into."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_from_epoch_hours(epoch_hours: int) -> datetime:
    return datetime.fromtimestamp(epoch_hours * 3600, tz=UTC)


def epoch_hours(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600


def money(amount: Decimal) -> str:
    """A money amount as an exact string with at least two decimals: 0.4 → "0.40", 0.0005 → "0.0005"."""
    amount = Decimal(amount).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    text = f"{amount:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"


def runway_days(*, balance: Decimal, spend_last_7_days: Decimal) -> Decimal | None:
    """Days the balance lasts at the last seven days' average burn; None when nothing was spent."""
    if balance <= 0:
        return Decimal("0")
    if spend_last_7_days <= 0:
        return None
    return (balance / (spend_last_7_days / 7)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def days_between(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def encode_counter_field(*, epoch_hour: int, organization_id: int, api_key_id: int, mode: str) -> str:
    """The Redis hash field (and buffer key) one API-request counter lives under."""
    return f"{epoch_hour}:{organization_id}:{api_key_id}:{mode}"


def decode_counter_field(field: str | bytes) -> tuple[int, int, int, str]:
    """(epoch hour, organization id, key id, mode) from `encode_counter_field`'s output."""
    if isinstance(field, bytes):
        field = field.decode()
    hour, organization_id, api_key_id, mode = field.split(":")
    return int(hour), int(organization_id), int(api_key_id), mode


def parse_iso_date(value: str) -> date | None:
    """A strict YYYY-MM-DD date, or None (Python's fromisoformat alone also takes 20261101 and week dates)."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def csv_text(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (names and reasons come from users)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
