"""Delivery policy: what an answer means and when to try again. Pure: no Django, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Wait after attempt n (index n-1) before attempt n+1. Ten attempts over about 2 days 21 hours:
# quick retries ride out a deploy or a blip, the long tail rides out a weekend outage.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# A receiver may ask for a longer pause (Retry-After on 429/503), but not for longer than this.
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    error_class: str = ""  # a stable slug shown in logs and the dashboard
    message: str = ""
    retryable: bool = True
    disable_endpoint: bool = False
    retry_after: timedelta | None = None


SUCCESS = Outcome(succeeded=True, retryable=False)


def classify_response(status: int, headers: dict[str, str], *, now: datetime) -> Outcome:
    """What an HTTP answer means for the delivery. ``headers`` have lower-case names."""
    if 200 <= status < 300:
        return SUCCESS
    if 300 <= status < 400:
        location = headers.get("location", "")
        where = f" to {location[:200]}" if location else ""
        return Outcome(False, "redirect", f"Answered {status} (redirect{where}); redirects are not followed.")
    if status == 410:
        return Outcome(
            False, "gone", "Answered 410 Gone: the endpoint was disabled.", retryable=False, disable_endpoint=True
        )
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"), now=now)
        name = "rate_limited" if status == 429 else "unavailable"
        hint = f"; Retry-After {int(retry_after.total_seconds())} s honoured" if retry_after else ""
        return Outcome(False, name, f"Answered {status}{hint}.", retry_after=retry_after)
    return Outcome(False, "http_error", f"Answered {status}; only 2xx counts as delivered.")


def classify_error(kind: str, message: str) -> Outcome:
    """An exchange that produced no HTTP answer (``kind`` from the outbound client, or "refused")."""
    return Outcome(False, kind, message[:500])


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Seconds or an HTTP date; None when absent, malformed or in the past. Capped at MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        delay = when - now
    if delay <= timedelta(0):
        return None
    return min(delay, MAX_RETRY_AFTER)


def retry_delay(attempt_number: int, *, retry_after: timedelta | None = None) -> timedelta | None:
    """How long to wait after failed attempt ``attempt_number`` (1-based); None means give up."""
    if attempt_number < 1:
        raise ValueError("attempt numbers start at 1")
    if attempt_number > len(RETRY_SCHEDULE):
        return None
    delay = RETRY_SCHEDULE[attempt_number - 1]
    return max(delay, retry_after) if retry_after else delay
