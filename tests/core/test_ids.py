"""Public ids: a prefix and 22 characters drawn uniformly from the 62 letters and digits."""

from __future__ import annotations

import re
import string
from collections import Counter

import pytest

from core import ids
from core.ids import new_public_id


def test_an_id_is_its_prefix_and_22_letters_or_digits_and_ids_do_not_repeat() -> None:
    drawn = [new_public_id("del") for _ in range(5000)]
    assert all(re.fullmatch(r"del_[A-Za-z0-9]{22}", value) for value in drawn)
    assert len(set(drawn)) == len(drawn)


def test_every_character_is_equally_likely() -> None:
    counts = Counter("".join(new_public_id("x")[2:] for _ in range(20_000)))  # 440,000 characters
    assert set(counts) == set(string.ascii_letters + string.digits)
    expected = 440_000 / 62  # about 7,097; a standard deviation of about 83
    # Mapping all 256 bytes (byte % 62) would make the first 8 characters a third more likely (8,516).
    assert all(abs(count - expected) < 600 for count in counts.values()), counts.most_common(3)


def test_bytes_that_would_skew_the_draw_are_dropped_and_more_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    batches = [bytes([255, 250, 248, 0, 61, 62]) + bytes([1] * 20), bytes([123] * 26)]
    monkeypatch.setattr(ids.os, "urandom", lambda n: batches.pop(0)[:n])
    # 248 and above are dropped: 0, 61, 62 and twenty 1s give 23 characters of the 22 wanted.
    assert new_public_id("evt") == "evt_a9a" + "b" * 19
    assert len(batches) == 1  # one batch was enough

    batches = [bytes([249] * 20 + [0] * 6), bytes([5] * 26)]
    assert new_public_id("evt") == "evt_" + "a" * 6 + "f" * 16  # 6 kept from the first, 16 from the second
