import datetime
from zoneinfo import ZoneInfo

import pytest

from phone.date_ranges import InvalidDateRange, parse_date_range

NY = ZoneInfo("America/New_York")
UTC = datetime.UTC
# 01:30 UTC on 2 July is still 1 July (21:30) in New York: "today" must follow the business's zone.
NOW = datetime.datetime(2026, 7, 2, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("preset", "first_local_day"),
    [
        ("today", datetime.date(2026, 7, 1)),
        ("7d", datetime.date(2026, 6, 25)),
        ("30d", datetime.date(2026, 6, 2)),
        ("90d", datetime.date(2026, 4, 3)),
    ],
)
def test_presets_start_at_local_midnight_and_end_now(preset: str, first_local_day: datetime.date) -> None:
    window = parse_date_range(preset, tz="America/New_York", now=NOW)
    assert window.start == datetime.datetime.combine(first_local_day, datetime.time(0), tzinfo=NY)
    assert window.end == NOW


def test_today_differs_by_business_time_zone() -> None:
    tokyo = parse_date_range("today", tz="Asia/Tokyo", now=NOW)
    assert tokyo.start == datetime.datetime(2026, 7, 2, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_dates_cover_whole_local_days_inclusive() -> None:
    window = parse_date_range("2026-03-07,2026-03-08", tz="America/New_York", now=NOW)
    assert window.start == datetime.datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # EST
    # 8 March 2026 is the DST switch: the day ends at 03:59:59.999999Z (EDT).
    assert window.end == datetime.datetime(2026, 3, 9, 3, 59, 59, 999999, tzinfo=UTC)


def test_a_single_day_range() -> None:
    window = parse_date_range("2026-07-01,2026-07-01", tz="UTC", now=NOW)
    assert window.end - window.start == datetime.timedelta(days=1, microseconds=-1)


def test_datetimes_without_offset_are_local_with_offset_are_absolute() -> None:
    window = parse_date_range("2026-07-01T09:00,2026-07-01T17:00:00Z", tz="America/New_York", now=NOW)
    assert window.start == datetime.datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    assert window.end == datetime.datetime(2026, 7, 1, 17, 0, tzinfo=UTC)


def test_an_unencoded_plus_offset_arriving_as_a_space_is_understood() -> None:
    window = parse_date_range("2026-07-01T09:00:00 02:00,2026-07-01T10:00:00+02:00", tz="UTC", now=NOW)
    assert window.start == datetime.datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_date_and_datetime_may_be_mixed() -> None:
    window = parse_date_range(" 2026-07-01 , 2026-07-01T12:00 ", tz="UTC", now=NOW)
    assert window.start == datetime.datetime(2026, 7, 1, tzinfo=UTC)
    assert window.end == datetime.datetime(2026, 7, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "week",
        "1d",
        "7D",
        "2026-07-01",
        "2026-07-01,",
        ",2026-07-01",
        "2026-02-30,2026-03-01",
        "2026-07-02,2026-07-01",
        "a,b",
        "1,2,3",
        "2026-07-01T25:00,2026-07-02",
    ],
)
def test_anything_else_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidDateRange):
        parse_date_range(raw, tz="UTC", now=NOW)
