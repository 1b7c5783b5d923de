import datetime

import pytest

from phone.sms_keywords import (
    QUIET_HOURS_DEFAULT_END,
    QUIET_HOURS_DEFAULT_START,
    classify_inbound,
    in_quiet_hours,
)


@pytest.mark.parametrize("body", ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
def test_opt_out_keywords(body: str) -> None:
    assert classify_inbound(body) == "opt_out"


@pytest.mark.parametrize("body", ["START", "YES", "UNSTOP"])
def test_opt_in_keywords(body: str) -> None:
    assert classify_inbound(body) == "opt_in"


@pytest.mark.parametrize("body", ["HELP", "INFO"])
def test_help_keywords(body: str) -> None:
    assert classify_inbound(body) == "help"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("stop", "opt_out"),
        ("Stop", "opt_out"),
        ("  stop \n", "opt_out"),
        ("STOP.", "opt_out"),
        ("Stop!!!", "opt_out"),
        ('"stop"', "opt_out"),
        ("STOP 🛑", "opt_out"),
        ("stop\u200b", "opt_out"),
        ("ＳＴＯＰ", "opt_out"),
        ("Stop-All", "opt_out"),
        ("Yes!", "opt_in"),
        ("help?", "help"),
    ],
)
def test_keywords_ignore_case_whitespace_and_punctuation(body: str, expected: str) -> None:
    assert classify_inbound(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "stop calling me please",
        "please stop",
        "yes please",
        "STOP ALL",
        "I need help",
        "stopp",
        "stop1",
        "Hello",
        "",
        "   ",
        "!!!",
    ],
)
def test_anything_but_a_single_keyword_is_ordinary_conversation(body: str) -> None:
    assert classify_inbound(body) is None


def _t(hhmm: str) -> datetime.time:
    return datetime.time.fromisoformat(hhmm)


def test_default_quiet_hours_are_nine_pm_to_eight_am() -> None:
    assert _t("21:00") == QUIET_HOURS_DEFAULT_START
    assert _t("08:00") == QUIET_HOURS_DEFAULT_END


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ("20:59:59.999999", False),
        ("21:00", True),
        ("23:59:59", True),
        ("00:00", True),
        ("03:30", True),
        ("07:59:59.999999", True),
        ("08:00", False),
        ("12:00", False),
    ],
)
def test_overnight_window_includes_its_start_and_excludes_its_end(local: str, quiet: bool) -> None:
    assert in_quiet_hours(_t(local), start=_t("21:00"), end=_t("08:00")) is quiet
    # The defaults are the same window.
    assert in_quiet_hours(_t(local)) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ("11:59:59", False),
        ("12:00", True),
        ("12:30", True),
        ("13:00", False),
        ("00:00", False),
        ("23:00", False),
    ],
)
def test_same_day_window(local: str, quiet: bool) -> None:
    assert in_quiet_hours(_t(local), start=_t("12:00"), end=_t("13:00")) is quiet


@pytest.mark.parametrize("local", ["00:00", "09:00", "09:00:01", "23:59:59"])
def test_equal_start_and_end_means_no_quiet_hours(local: str) -> None:
    assert in_quiet_hours(_t(local), start=_t("09:00"), end=_t("09:00")) is False


def test_window_ending_at_midnight_covers_the_rest_of_the_evening() -> None:
    assert in_quiet_hours(_t("22:00"), start=_t("22:00"), end=_t("00:00")) is True
    assert in_quiet_hours(_t("23:59:59"), start=_t("22:00"), end=_t("00:00")) is True
    assert in_quiet_hours(_t("00:00"), start=_t("22:00"), end=_t("00:00")) is False


def test_aware_times_are_compared_by_wall_clock() -> None:
    aware = datetime.time(22, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    assert in_quiet_hours(aware, start=_t("21:00"), end=_t("08:00")) is True
