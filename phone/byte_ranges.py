"""Single byte ranges of a `Range` request header (RFC 9110 §14), for streaming recordings.

Only one range is served: a multi-range request, another unit or a malformed header is ignored
(the whole representation is sent with 200), as most servers do and as RFC 9110 permits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# bytes=first-[last] or bytes=-suffix; "bytes" is case-insensitive, spaces around "=" are not allowed.
_SINGLE_RANGE = re.compile(r"bytes=[ \t]*([0-9]*)-([0-9]*)[ \t]*", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """The range lies wholly beyond the representation: answer 416 with `Content-Range: bytes */size`."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send for `header` over `size` bytes, or None to send everything.

    Raises RangeNotSatisfiable when the single range is well formed but cannot be satisfied.
    """
    if not header:
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None:
        return None  # another unit, several ranges, or not a range at all
    first, last = match.groups()
    if first:
        start = int(first)
        if last and int(last) < start:
            return None  # syntactically invalid (RFC 9110 §14.1.1): ignore the header
        if start >= size:
            raise RangeNotSatisfiable
        return ByteRange(start, min(int(last), size - 1) if last else size - 1)
    if not last:
        return None  # "bytes=-"
    suffix = int(last)
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable
    return ByteRange(max(0, size - suffix), size - 1)
