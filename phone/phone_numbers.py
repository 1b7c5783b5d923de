"""Phone-number normalisation to E.164, search variants, and a default region per time zone.

Parsing and validation are delegated to ``phonenumbers`` (Google's libphonenumber metadata);
this module only decides the policy around it.
"""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """Raised when input cannot be turned into a dialable E.164 number."""


# Our own wording for the library's parse errors, written for the person who typed the number.
# Messages never echo the input: the caller names the field, and input may be arbitrarily long.
_PARSE_ERRORS: dict[int, str] = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
        "Unknown country code: write the number as +<country code> <number>."
    ),
    phonenumbers.NumberParseException.NOT_A_NUMBER: "Not a phone number.",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: ("Too few digits after the international prefix."),
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "Too few digits for a phone number.",
    phonenumbers.NumberParseException.TOO_LONG: "Too many digits for a phone number.",
}


def to_e164(raw: str, *, default_region: str, require_valid: bool = True) -> str:
    """Normalise ``raw`` to E.164 (``+14155552671``); read national formats in ``default_region``.

    ``require_valid=False`` accepts numbers that have a possible length but no assigned range,
    such as the NANP's fictional 555-01xx block that ``phonenumbers`` (rightly) calls invalid;
    it is meant for sandbox/test-mode input only.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        message = _PARSE_ERRORS.get(exc.error_type, "Not a phone number.")
        raise InvalidPhoneNumber(message) from exc

    # E.164 has no room for an extension; dropping it silently would dial the wrong line.
    if number.extension:
        raise InvalidPhoneNumber("Extensions are not supported: E.164 numbers cannot carry one.")
    if not _is_possible(number):
        raise InvalidPhoneNumber("Wrong number of digits for a phone number in its country.")
    if require_valid and not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("Not a valid phone number: no such number range is assigned.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_possible(number: phonenumbers.PhoneNumber) -> bool:
    # Stricter than phonenumbers.is_possible_number, which also accepts "local only" lengths
    # (7-digit US numbers without an area code) that have no E.164 form.
    reason = phonenumbers.is_possible_number_with_reason(number)
    return reason == phonenumbers.ValidationResult.IS_POSSIBLE


def search_variants(raw: str, *, default_region: str) -> list[str]:
    """Strings to match against stored E.164 numbers for a user's search input.

    Returns the E.164 form when the input parses to a number of possible length (validity is
    not required: a search should find whatever is stored, including demo 555 numbers), then
    the bare digits of the input for partial matches. Empty when the input has no digits.
    """
    variants: list[str] = []
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and _is_possible(number):
        variants.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    digits = "".join(ch for ch in raw if ch.isascii() and ch.isdigit())
    if digits and digits not in variants:
        variants.append(digits)
    return variants


DEFAULT_REGION = "US"

# Exact zones whose country differs from their continent's default below. Small on purpose:
# this only picks how national-format numbers are read, and the business can override it.
_REGION_BY_ZONE: dict[str, str] = {
    # Canada
    "America/Toronto": "CA",
    "America/Montreal": "CA",
    "America/Vancouver": "CA",
    "America/Edmonton": "CA",
    "America/Winnipeg": "CA",
    "America/Regina": "CA",
    "America/Halifax": "CA",
    "America/Moncton": "CA",
    "America/St_Johns": "CA",
    # Mexico
    "America/Mexico_City": "MX",
    "America/Monterrey": "MX",
    "America/Merida": "MX",
    "America/Cancun": "MX",
    "America/Chihuahua": "MX",
    "America/Hermosillo": "MX",
    "America/Mazatlan": "MX",
    "America/Tijuana": "MX",
    # Caribbean and Latin America
    "America/Puerto_Rico": "PR",
    "America/Sao_Paulo": "BR",
    "America/Argentina/Buenos_Aires": "AR",
    "America/Buenos_Aires": "AR",
    "America/Bogota": "CO",
    "America/Lima": "PE",
    "America/Santiago": "CL",
    # Europe
    "Europe/London": "GB",
    "Europe/Dublin": "IE",
    "Europe/Paris": "FR",
    "Europe/Berlin": "DE",
    "Europe/Madrid": "ES",
    "Europe/Rome": "IT",
    "Europe/Amsterdam": "NL",
    "Europe/Brussels": "BE",
    "Europe/Lisbon": "PT",
    "Europe/Zurich": "CH",
    "Europe/Vienna": "AT",
    "Europe/Stockholm": "SE",
    "Europe/Oslo": "NO",
    "Europe/Copenhagen": "DK",
    "Europe/Helsinki": "FI",
    "Europe/Warsaw": "PL",
    # Asia-Pacific
    "Pacific/Auckland": "NZ",
    "Pacific/Honolulu": "US",
    "Asia/Kolkata": "IN",
    "Asia/Calcutta": "IN",
    "Asia/Singapore": "SG",
    "Asia/Tokyo": "JP",
    "Asia/Hong_Kong": "HK",
    "Asia/Dubai": "AE",
}

# Whole areas (the part before the first "/") that map to one country.
_REGION_BY_AREA: dict[str, str] = {
    "America": "US",
    "US": "US",
    "Canada": "CA",
    "Australia": "AU",
}


def region_for_timezone(tz: str) -> str:
    """Default region (ISO 3166 alpha-2) for reading local numbers of a business in ``tz``.

    Unknown or empty zones fall back to ``"US"``, the platform's home market.
    """
    zone = tz.strip()
    if zone in _REGION_BY_ZONE:
        return _REGION_BY_ZONE[zone]
    area = zone.split("/", 1)[0]
    return _REGION_BY_AREA.get(area, DEFAULT_REGION)
