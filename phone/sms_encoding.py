"""Exact SMS segment counting (GSM 03.38 / UCS-2), used for metering and previews.

SMS is billed per segment, so this must agree with what the carrier will actually send:
GSM-7 when every character fits the GSM 03.38 default alphabet (plus its extension table),
otherwise UCS-2 (really UTF-16). Multipart messages lose room to the User Data Header
(160 -> 153 septets, 70 -> 67 units), and a character is never split across two parts.

The body is counted exactly as given: no Unicode normalisation is applied, because the
sender transmits the string as-is (a decomposed "e" + U+0301 is not GSM, a composed "é" is).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet, in code-table order (0x00-0x7F). 0x1B is the escape to the
# extension table, not a character, so it is left out.
GSM7_BASIC_CHARACTERS: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# Characters reached through the 0x1B escape: each costs two septets.
GSM7_EXTENSION_CHARACTERS: frozenset[str] = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_SEPTETS = 160
GSM7_MULTIPART_SEPTETS = 153  # 160 minus the 6-octet concatenation header (7 septets)
UCS2_SINGLE_UNITS = 70
UCS2_MULTIPART_UNITS = 67  # 140 octets minus the 6-octet header, in 2-octet units


@dataclass(frozen=True)
class SmsEncoding:
    """How a body will be sent.

    ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2. ``per_segment`` is the
    capacity of each segment actually used: 160/70 for a single message, 153/67 when the
    body has to be split.
    """

    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    units: int
    per_segment: int


def sms_encoding(body: str) -> SmsEncoding:
    """Return the encoding, segment count and size of ``body``.

    An empty body is reported as one (empty) segment: bodies are validated non-empty
    elsewhere, and a count of 0 would let a bug slip through metering as free.
    """
    if all(ch in GSM7_BASIC_CHARACTERS or ch in GSM7_EXTENSION_CHARACTERS for ch in body):
        widths = [2 if ch in GSM7_EXTENSION_CHARACTERS else 1 for ch in body]
        return _pack("GSM-7", widths, GSM7_SINGLE_SEPTETS, GSM7_MULTIPART_SEPTETS)

    # Characters outside the Basic Multilingual Plane (most emoji) need a surrogate pair.
    widths = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    return _pack("UCS-2", widths, UCS2_SINGLE_UNITS, UCS2_MULTIPART_UNITS)


def _pack(
    encoding: Literal["GSM-7", "UCS-2"],
    widths: list[int],
    single: int,
    multipart: int,
) -> SmsEncoding:
    units = sum(widths)
    if units <= single:
        return SmsEncoding(encoding=encoding, segments=1, units=units, per_segment=single)
    return SmsEncoding(
        encoding=encoding,
        segments=_count_parts(widths, multipart),
        units=units,
        per_segment=multipart,
    )


def _count_parts(widths: Iterable[int], capacity: int) -> int:
    """Greedily fill parts of ``capacity``; a character that does not fit starts a new part.

    Plain division (ceil(units / capacity)) would undercount whenever a two-unit character
    (escape sequence or surrogate pair) lands on a boundary and is pushed whole to the next part.
    """
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:
            parts += 1
            used = 0
        used += width
    return parts
