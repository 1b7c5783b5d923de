"""core.fastcache: the flag that sets another key in the same round trip."""

from __future__ import annotations

from typing import Any

import pytest

from core import fastcache
from tests.conftest import redis_available


def _add_twice_with_another_key() -> tuple[bool, bool, Any]:
    fastcache.delete("test:flag")
    fastcache.delete("test:other")
    first = fastcache.add("test:flag", 1, 5, also_set=("test:other", "a", 60))
    second = fastcache.add("test:flag", 1, 5, also_set=("test:other", "b", 60))
    return first, second, fastcache.get("test:other")


@pytest.mark.redis
@pytest.mark.skipif(not redis_available(), reason="REDIS_URL is not set or Redis is not reachable")
def test_a_flag_and_another_key_go_to_redis_in_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    fastcache._redis.cache_clear()
    client = fastcache._redis()
    sent: list[Any] = []
    connection_class = client.connection_pool.connection_class
    send = connection_class.send_packed_command

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(args)
        return send(self, *args, **kwargs)

    monkeypatch.setattr(connection_class, "send_packed_command", recording)

    first, second, other = _add_twice_with_another_key()

    # The flag is set once (NX), the other key on every call: the second call's value stands.
    assert (first, second, other) == (True, False, "b")
    writes = [b"".join(map(bytes, packed[0])) for packed in sent]
    adds = [data for data in writes if b"SET" in data and b"test:flag" in data]
    assert len(adds) == 2  # one write per call, both commands in it
    assert all(b"test:other" in data for data in adds)


def test_without_redis_the_flag_and_the_other_key_use_djangos_cache(settings: Any) -> None:
    settings.REDIS_URL = ""
    fastcache._redis.cache_clear()
    try:
        assert _add_twice_with_another_key() == (True, False, "b")
    finally:
        fastcache._redis.cache_clear()
