"""Carrier compliance keywords for inbound SMS, and the quiet-hours window for outbound SMS."""

from __future__ import annotations

import datetime
import unicodedata
from typing import Literal

InboundKeyword = Literal["opt_out", "opt_in", "help"]

# The standard CTIA / carrier keyword sets (the same ones Twilio honours by default).
_KEYWORDS: dict[str, InboundKeyword] = {
    **dict.fromkeys(["stop", "stopall", "unsubscribe", "cancel", "end", "quit"], "opt_out"),
    **dict.fromkeys(["start", "yes", "unstop"], "opt_in"),
    **dict.fromkeys(["help", "info"], "help"),
}

QUIET_HOURS_DEFAULT_START = datetime.time(21, 0)
QUIET_HOURS_DEFAULT_END = datetime.time(8, 0)


def classify_inbound(body: str) -> InboundKeyword | None:
    """Classify an inbound text that consists of a single compliance keyword.

    Case, surrounding whitespace, punctuation, symbols/emoji and invisible format characters
    are ignored ("Stop!", " stop. ", "STOP 🛑"). Anything with more than one word is ordinary
    conversation ("stop calling me please" is None): carriers act on the bare keyword only,
    and guessing intent from sentences would opt people in or out by accident.
    """
    # NFKC folds full-width and other compatibility forms ("ＳＴＯＰ") to plain letters.
    text = unicodedata.normalize("NFKC", body)
    kept = "".join(ch for ch in text if not _is_ignorable(ch))
    words = kept.split()
    if len(words) != 1:
        return None
    return _KEYWORDS.get(words[0].casefold())


def _is_ignorable(ch: str) -> bool:
    category = unicodedata.category(ch)
    # P*: punctuation, S*: symbols and emoji, Cf: zero-width and other format characters.
    return category[0] in "PS" or category == "Cf"


def in_quiet_hours(
    local_time: datetime.time,
    *,
    start: datetime.time = QUIET_HOURS_DEFAULT_START,
    end: datetime.time = QUIET_HOURS_DEFAULT_END,
) -> bool:
    """Whether ``local_time`` (recipient's wall clock) falls in the half-open window [start, end).

    The window may cross midnight (21:00-08:00) or sit within one day (12:00-13:00);
    ``start == end`` means no quiet hours at all. Any tzinfo is ignored: the caller has already
    converted to local time, and aware and naive times cannot be compared.
    """
    now, start, end = (t.replace(tzinfo=None) for t in (local_time, start, end))
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end
