import pytest

from phone.sms_encoding import (
    GSM7_BASIC_CHARACTERS,
    GSM7_EXTENSION_CHARACTERS,
    SmsEncoding,
    sms_encoding,
)

EMOJI = "😀"  # U+1F600, outside the BMP: a surrogate pair in UTF-16


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hello, world!", SmsEncoding("GSM-7", 1, 13, 160)),
        ("Line one\nLine two\r\n", SmsEncoding("GSM-7", 1, 19, 160)),
        ("{}", SmsEncoding("GSM-7", 1, 4, 160)),
        ("Price: 5€ [approx] ~ ^ | \\", SmsEncoding("GSM-7", 1, 33, 160)),
        ("\f", SmsEncoding("GSM-7", 1, 2, 160)),
        ("Café, très bien, ¿qué? Ñoño", SmsEncoding("GSM-7", 1, 27, 160)),
        ("ΔΦΓΛΩΠΨΣΘΞ £¥§¤¡ ÆæßÉ ÅåØøÇ äöüÄÖÜàèìòù", SmsEncoding("GSM-7", 1, 39, 160)),
        # á, í, ó, ú, â, ê and the backtick are not in GSM 03.38: the whole body goes UCS-2.
        ("Está aquí", SmsEncoding("UCS-2", 1, 9, 70)),
        ("crème brûlée", SmsEncoding("UCS-2", 1, 12, 70)),
        ("Ñandú", SmsEncoding("UCS-2", 1, 5, 70)),
        ("¿Cómo está?", SmsEncoding("UCS-2", 1, 11, 70)),
        ("use `code`", SmsEncoding("UCS-2", 1, 10, 70)),
        ("ç", SmsEncoding("UCS-2", 1, 1, 70)),
        ("Hi " + EMOJI, SmsEncoding("UCS-2", 1, 5, 70)),
        ("€ and " + EMOJI + " and ü", SmsEncoding("UCS-2", 1, 14, 70)),
        ("Привет", SmsEncoding("UCS-2", 1, 6, 70)),
        ("你好", SmsEncoding("UCS-2", 1, 2, 70)),
    ],
)
def test_encoding_and_size_of_typical_bodies(body: str, expected: SmsEncoding) -> None:
    assert sms_encoding(body) == expected


def test_empty_body_is_one_empty_gsm_segment() -> None:
    assert sms_encoding("") == SmsEncoding("GSM-7", 1, 0, 160)


def test_decomposed_accent_is_not_gsm_because_the_body_is_not_normalised() -> None:
    assert sms_encoding("e\u0301").encoding == "UCS-2"


def test_gsm_alphabet_has_127_basic_and_10_extension_characters() -> None:
    # 128 code points minus the 0x1B escape; the two tables must not overlap.
    assert len(GSM7_BASIC_CHARACTERS) == 127
    assert len(GSM7_EXTENSION_CHARACTERS) == 10
    assert not GSM7_BASIC_CHARACTERS & GSM7_EXTENSION_CHARACTERS


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"),
    [
        (1, 1, 160),
        (160, 1, 160),
        (161, 2, 153),
        (306, 2, 153),
        (307, 3, 153),
        (459, 3, 153),
        (460, 4, 153),
    ],
)
def test_gsm_segment_boundaries(length: int, segments: int, per_segment: int) -> None:
    assert sms_encoding("a" * length) == SmsEncoding("GSM-7", segments, length, per_segment)


def test_extension_characters_count_double_toward_the_single_segment_limit() -> None:
    assert sms_encoding("€" * 80) == SmsEncoding("GSM-7", 1, 160, 160)
    assert sms_encoding("a" + "€" * 80) == SmsEncoding("GSM-7", 2, 161, 153)


def test_extension_character_straddling_the_153_boundary_moves_to_the_next_part() -> None:
    # 152 + 2 = 154 septets: by arithmetic two parts hold 306, but the escape pair cannot split
    # across septets 153/154, so part one holds 152 and part two starts with the "€".
    body = "a" * 152 + "€" + "a" * 152
    result = sms_encoding(body)
    assert result.units == 306
    assert result.segments == 3


def test_extension_character_ending_exactly_on_the_153_boundary_fits() -> None:
    body = "a" * 151 + "€" + "a" * 153
    assert sms_encoding(body) == SmsEncoding("GSM-7", 2, 306, 153)


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"),
    [
        (70, 1, 70),
        (71, 2, 67),
        (134, 2, 67),
        (135, 3, 67),
    ],
)
def test_ucs2_segment_boundaries(length: int, segments: int, per_segment: int) -> None:
    body = "ж" * length
    assert sms_encoding(body) == SmsEncoding("UCS-2", segments, length, per_segment)


def test_emoji_count_as_two_utf16_units() -> None:
    assert sms_encoding(EMOJI * 35) == SmsEncoding("UCS-2", 1, 70, 70)
    assert sms_encoding("a" + EMOJI * 35) == SmsEncoding("UCS-2", 2, 71, 67)


def test_emoji_straddling_the_67_boundary_moves_to_the_next_part() -> None:
    # 66 + 2 units would split the surrogate pair across parts one and two.
    body = "ж" * 66 + EMOJI + "ж" * 66
    result = sms_encoding(body)
    assert result.units == 134
    assert result.segments == 3


def test_emoji_ending_exactly_on_the_67_boundary_fits() -> None:
    body = "ж" * 65 + EMOJI + "ж" * 67
    assert sms_encoding(body) == SmsEncoding("UCS-2", 2, 134, 67)


def test_one_non_gsm_character_switches_a_long_body_to_ucs2() -> None:
    assert sms_encoding("a" * 100).segments == 1
    assert sms_encoding("a" * 99 + "á") == SmsEncoding("UCS-2", 2, 100, 67)
