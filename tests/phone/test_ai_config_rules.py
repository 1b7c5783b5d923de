import datetime

import pytest

from phone import ai_config_rules as rules


@pytest.mark.parametrize(
    ("raw", "expected"), [("en-US", "en-US"), ("en-us", "en-US"), (" FR-ca ", "fr-CA"), ("es-US", "es-US")]
)
def test_languages_are_canonicalised(raw: str, expected: str) -> None:
    assert rules.clean_language(raw) == expected


@pytest.mark.parametrize("raw", ["en", "english", "xx-YY", "", None, 1, "en_US"])
def test_unsupported_languages_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        rules.clean_language(raw)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "UTC", "Asia/Kolkata"])
def test_iana_zones_are_accepted(zone: str) -> None:
    assert rules.clean_timezone(zone) == zone


@pytest.mark.parametrize("zone", ["", "New York", "america/new_york", "Factory", "localtime", "GMT+5", None])
def test_non_zones_are_refused(zone: object) -> None:
    with pytest.raises(ValueError):
        rules.clean_timezone(zone)


def test_business_hours_are_sorted_and_empty_days_dropped() -> None:
    cleaned = rules.clean_business_hours(
        {
            "friday": [{"open": "13:00", "close": "17:30"}, {"open": "08:00", "close": "12:00"}],
            "sunday": [],
        }
    )
    assert cleaned == {"friday": [{"open": "08:00", "close": "12:00"}, {"open": "13:00", "close": "17:30"}]}


def test_touching_intervals_are_allowed() -> None:
    hours = {"monday": [{"open": "08:00", "close": "12:00"}, {"open": "12:00", "close": "16:00"}]}
    assert len(rules.clean_business_hours(hours)["monday"]) == 2


@pytest.mark.parametrize(
    "hours",
    [
        None,
        [],
        {"Monday": []},
        {"monday": "9-5"},
        {"monday": [{"open": "09:00"}]},
        {"monday": [{"open": "09:00", "close": "17:00", "note": "x"}]},
        {"monday": [{"open": "9:00", "close": "17:00"}]},
        {"monday": [{"open": "10:00", "close": "10:00"}]},
        {"monday": [{"open": "24:00", "close": "10:00"}]},
        {"monday": [{"open": "08:00", "close": "12:00"}, {"open": "11:59", "close": "13:00"}]},
        {"monday": [{"open": f"0{i}:00", "close": f"0{i}:30"} for i in range(5)]},
    ],
)
def test_bad_business_hours_are_refused(hours: object) -> None:
    with pytest.raises(ValueError):
        rules.clean_business_hours(hours)


def test_quiet_hours() -> None:
    assert rules.clean_quiet_hours({"start": "21:00", "end": "08:00"}) == (datetime.time(21), datetime.time(8))
    for bad in (
        {"start": "21:00"},
        {"start": "21:00", "end": "8"},
        "21-8",
        {"start": "21:00", "end": "08:00", "tz": "UTC"},
    ):
        with pytest.raises(ValueError):
            rules.clean_quiet_hours(bad)


def test_text_and_bool() -> None:
    assert rules.clean_text("  hi ", max_length=5, allow_empty=False) == "hi"
    assert rules.clean_text(None, max_length=5, allow_empty=True) == ""
    with pytest.raises(ValueError):
        rules.clean_text("   ", max_length=5, allow_empty=False)
    with pytest.raises(ValueError):
        rules.clean_text("toolong", max_length=5, allow_empty=True)
    assert rules.clean_bool(False) is False
    with pytest.raises(ValueError):
        rules.clean_bool(0)
