import phonenumbers
import pytest

from phone.phone_numbers import (
    InvalidPhoneNumber,
    region_for_timezone,
    search_variants,
    to_e164,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415 555 2671", "US", "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("  +14155552671  ", "GB", "+14155552671"),
        ("(416) 555-0199", "CA", "+14165550199"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("00 44 20 7946 0958", "FR", "+442079460958"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("55 5555 1234", "MX", "+525555551234"),
        ("(02) 9374 4000", "AU", "+61293744000"),
        ("1-800-FLOWERS", "US", "+18003569377"),
    ],
)
def test_to_e164_normalises_national_and_international_formats(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, default_region=region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("", "US", "Not a phone number"),
        ("hello", "US", "Not a phone number"),
        ("4155552671", "ZZ", "Unknown country code"),
        ("+999 123 4567", "US", "Unknown country code"),
        ("415 555", "US", "Wrong number of digits"),
        ("555 0123", "US", "Wrong number of digits"),
        ("+1 415 555 26711", "US", "Wrong number of digits"),
        ("123456789012345678901", "US", "Too many digits"),
        # 555-01xx is reserved for fiction: the right length but no assigned range.
        ("+1 555 555 0123", "US", "Not a valid phone number"),
        ("+1 415 555 2671 ext. 12", "US", "Extensions are not supported"),
    ],
)
def test_to_e164_rejects_unusable_input_with_a_clear_message(raw: str, region: str, message: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=message):
        to_e164(raw, default_region=region)


def test_invalid_phone_number_is_a_value_error() -> None:
    assert issubclass(InvalidPhoneNumber, ValueError)


def test_to_e164_accepts_fictional_but_possible_numbers_when_validity_is_not_required() -> None:
    assert to_e164("+15555550123", default_region="US", require_valid=False) == "+15555550123"
    with pytest.raises(InvalidPhoneNumber, match="Wrong number of digits"):
        to_e164("555 0123", default_region="US", require_valid=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(555) 555-0123", ["+15555550123", "5555550123"]),
        ("555.555.0123", ["+15555550123", "5555550123"]),
        ("+1 555 555 0123", ["+15555550123", "15555550123"]),
        ("15555550123", ["+15555550123", "15555550123"]),
        ("+15555550123", ["+15555550123", "15555550123"]),
        ("(415) 555-2671", ["+14155552671", "4155552671"]),
    ],
)
def test_search_variants_for_full_numbers_include_e164_and_bare_digits(raw: str, expected: list[str]) -> None:
    assert search_variants(raw, default_region="US") == expected


def test_every_spelling_of_a_number_matches_the_stored_e164_value() -> None:
    stored = "+15555550123"
    for raw in ["(555) 555-0123", "555.555.0123", "+1 555 555 0123", "15555550123"]:
        variants = search_variants(raw, default_region="US")
        assert variants[0] == stored
        assert all(variant in stored for variant in variants)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0123", ["0123"]),
        ("555-01", ["55501"]),
        ("555-0123", ["5550123"]),
        ("Jordan", []),
        ("", []),
    ],
)
def test_search_variants_for_partial_input_are_just_the_digits(raw: str, expected: list[str]) -> None:
    assert search_variants(raw, default_region="US") == expected


def test_search_variants_read_national_input_in_the_default_region() -> None:
    assert search_variants("020 7946 0958", default_region="GB") == [
        "+442079460958",
        "02079460958",
    ]


@pytest.mark.parametrize(
    ("tz", "region"),
    [
        ("America/New_York", "US"),
        ("America/Chicago", "US"),
        ("America/Los_Angeles", "US"),
        ("America/Phoenix", "US"),
        ("America/Anchorage", "US"),
        ("Pacific/Honolulu", "US"),
        ("US/Eastern", "US"),
        ("America/Toronto", "CA"),
        ("America/Vancouver", "CA"),
        ("Canada/Pacific", "CA"),
        ("America/Mexico_City", "MX"),
        ("America/Tijuana", "MX"),
        ("America/Sao_Paulo", "BR"),
        ("Europe/London", "GB"),
        ("Europe/Paris", "FR"),
        ("Europe/Dublin", "IE"),
        ("Australia/Sydney", "AU"),
        ("Australia/Perth", "AU"),
        ("Pacific/Auckland", "NZ"),
        ("Asia/Kolkata", "IN"),
        (" Europe/London ", "GB"),
        ("Africa/Lagos", "US"),
        ("UTC", "US"),
        ("", "US"),
        ("Not/AZone", "US"),
    ],
)
def test_region_for_timezone(tz: str, region: str) -> None:
    assert region_for_timezone(tz) == region


def test_every_mapped_region_is_one_phonenumbers_can_parse_with() -> None:
    from phone import phone_numbers

    regions = set(phone_numbers._REGION_BY_ZONE.values()) | set(phone_numbers._REGION_BY_AREA.values())
    assert regions <= phonenumbers.SUPPORTED_REGIONS
