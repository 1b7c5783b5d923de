"""Validation rules for the AI config fields the public API may change. Pure functions.

Each `clean_*` takes the raw JSON value and returns the stored value or raises `ValueError` with
a message written for the API caller; `phone.services.ai_config_update` names the field.
"""

from __future__ import annotations

import datetime
import itertools
import re
import zoneinfo
from functools import lru_cache
from typing import Any

# BCP-47 tags the AI receptionist speaks, in canonical case.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "en-US",
    "en-GB",
    "en-AU",
    "en-CA",
    "en-IE",
    "en-NZ",
    "es-US",
    "es-ES",
    "es-MX",
    "fr-FR",
    "fr-CA",
    "de-DE",
    "it-IT",
    "nl-NL",
    "pt-BR",
    "pt-PT",
    "pl-PL",
    "sv-SE",
    "da-DK",
    "nb-NO",
    "fi-FI",
    "ja-JP",
    "ko-KR",
    "zh-CN",
    "hi-IN",
)
_LANGUAGE_BY_FOLDED = {tag.casefold(): tag for tag in SUPPORTED_LANGUAGES}

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_INTERVALS_PER_DAY = 4
GREETING_MAX_LENGTH = 500
HELP_REPLY_MAX_LENGTH = 320  # two GSM-7 segments

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# Zones that exist in the tz database but are not places a business can be.
_NOT_A_PLACE = {"Factory", "localtime"}


def clean_language(value: Any) -> str:
    if isinstance(value, str) and value.strip().casefold() in _LANGUAGE_BY_FOLDED:
        return _LANGUAGE_BY_FOLDED[value.strip().casefold()]
    raise ValueError(f"Must be a supported BCP-47 language tag: {', '.join(SUPPORTED_LANGUAGES)}.")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_A_PLACE)


def clean_timezone(value: Any) -> str:
    if isinstance(value, str) and value in _zones():
        return value
    raise ValueError("Must be an IANA time zone name such as 'America/New_York' or 'Europe/London'.")


def clean_choice(value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    raise ValueError(f"Must be one of: {', '.join(choices)}.")


def clean_text(value: Any, *, max_length: int, allow_empty: bool) -> str:
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    text = value.strip()
    if not text and not allow_empty:
        raise ValueError("Must not be empty.")
    if len(text) > max_length:
        raise ValueError(f"At most {max_length} characters.")
    return text


def clean_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("Must be true or false.")


def parse_hhmm(value: Any) -> datetime.time:
    if isinstance(value, str):
        match = _HHMM.match(value)
        if match:
            return datetime.time(int(match[1]), int(match[2]))
    raise ValueError("Times are 24-hour 'HH:MM' strings, e.g. '09:00'.")


def clean_business_hours(value: Any) -> dict[str, list[dict[str, str]]]:
    """`{"monday": [{"open": "09:00", "close": "17:00"}], ...}`; a missing or empty day is closed.

    Intervals within a day must not overlap and are stored sorted, so readers never re-check them.
    """
    if not isinstance(value, dict):
        raise ValueError("Must be an object keyed by weekday (monday … sunday), each a list of {open, close}.")
    unknown = [key for key in value if key not in WEEKDAYS]
    if unknown:
        raise ValueError(f"Unknown day {unknown[0]!r}: use {', '.join(WEEKDAYS)}.")
    cleaned: dict[str, list[dict[str, str]]] = {}
    for day in WEEKDAYS:
        intervals = value.get(day) or []
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS_PER_DAY:
            raise ValueError(f"{day}: give a list of at most {MAX_INTERVALS_PER_DAY} {{open, close}} intervals.")
        parsed: list[tuple[datetime.time, datetime.time]] = []
        for interval in intervals:
            if not isinstance(interval, dict) or set(interval) != {"open", "close"}:
                raise ValueError(f"{day}: each interval is an object with exactly 'open' and 'close'.")
            try:
                opens, closes = parse_hhmm(interval["open"]), parse_hhmm(interval["close"])
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from exc
            if opens >= closes:
                raise ValueError(f"{day}: 'open' must be before 'close'.")
            parsed.append((opens, closes))
        parsed.sort()
        for (_, previous_close), (next_open, _) in itertools.pairwise(parsed):
            if next_open < previous_close:
                raise ValueError(f"{day}: intervals overlap.")
        if parsed:
            cleaned[day] = [{"open": o.strftime("%H:%M"), "close": c.strftime("%H:%M")} for o, c in parsed]
    return cleaned


def clean_quiet_hours(value: Any) -> tuple[datetime.time, datetime.time]:
    """`{"start": "21:00", "end": "08:00"}`; equal start and end turns quiet hours off."""
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise ValueError(
            'Must be an object with exactly \'start\' and \'end\', e.g. {"start": "21:00", "end": "08:00"}.'
        )
    return parse_hhmm(value["start"]), parse_hhmm(value["end"])
