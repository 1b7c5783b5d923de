"""The pure delivery policy: what an answer means and when to retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webhooks.policy import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    RETRY_SCHEDULE,
    classify_error,
    classify_response,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2026, 6, 28, 20, 0, tzinfo=UTC)


def test_the_schedule_lasts_about_three_days_and_only_grows() -> None:
    total = sum(RETRY_SCHEDULE, timedelta())
    assert timedelta(days=2, hours=12) < total < timedelta(days=3, hours=12)
    assert list(RETRY_SCHEDULE) == sorted(RETRY_SCHEDULE)
    assert RETRY_SCHEDULE[0] == timedelta(seconds=10)
    assert len(RETRY_SCHEDULE) + 1 == MAX_ATTEMPTS


def test_retry_delay_follows_the_schedule_then_gives_up() -> None:
    assert [retry_delay(n) for n in range(1, MAX_ATTEMPTS)] == list(RETRY_SCHEDULE)
    assert retry_delay(MAX_ATTEMPTS) is None
    with pytest.raises(ValueError):
        retry_delay(0)


def test_retry_after_lengthens_but_never_shortens_the_wait() -> None:
    assert retry_delay(1, retry_after=timedelta(minutes=10)) == timedelta(minutes=10)
    assert retry_delay(3, retry_after=timedelta(seconds=1)) == RETRY_SCHEDULE[2]


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_success(status: int) -> None:
    outcome = classify_response(status, {}, now=NOW)
    assert outcome.succeeded and not outcome.retryable


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_fail_and_are_retried(status: int) -> None:
    outcome = classify_response(status, {"location": "https://elsewhere.example/"}, now=NOW)
    assert not outcome.succeeded and outcome.retryable and outcome.error_class == "redirect"
    assert "not followed" in outcome.message and "elsewhere.example" in outcome.message


def test_410_disables_and_is_not_retried() -> None:
    outcome = classify_response(410, {}, now=NOW)
    assert outcome.disable_endpoint and not outcome.retryable and outcome.error_class == "gone"


@pytest.mark.parametrize(("status", "name"), [(429, "rate_limited"), (503, "unavailable")])
def test_429_and_503_carry_their_retry_after(status: int, name: str) -> None:
    outcome = classify_response(status, {"retry-after": "120"}, now=NOW)
    assert outcome.error_class == name and outcome.retry_after == timedelta(seconds=120) and outcome.retryable


def test_other_errors_are_retried_without_retry_after() -> None:
    outcome = classify_response(500, {"retry-after": "120"}, now=NOW)
    assert outcome.error_class == "http_error" and outcome.retry_after is None and outcome.retryable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", timedelta(seconds=30)),
        (" 30 ", timedelta(seconds=30)),
        ("Sun, 28 Jun 2026 20:05:00 GMT", timedelta(minutes=5)),
        ("999999999999", MAX_RETRY_AFTER),
        ("0", None),
        ("-5", None),
        ("soon", None),
        ("Sun, 28 Jun 2026 19:00:00 GMT", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_parsed_as_seconds_or_an_http_date(value: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_transport_errors_are_retryable_and_keep_their_kind() -> None:
    outcome = classify_error("timeout", "took too long" * 100)
    assert outcome.error_class == "timeout" and outcome.retryable and len(outcome.message) == 500
