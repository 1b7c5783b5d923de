"""The hot path's cache: key principals and gate state, shared by every process.

With Redis it talks to one long-lived client per process and pipelines what one request needs
(Django's RedisCache builds a client object per call, which costs more than the round trip).
Without Redis it falls back to Django's cache. Values are pickled dataclasses.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

_PREFIX = "hot:"


@lru_cache(maxsize=1)
def _redis() -> Any:
    if not settings.REDIS_URL:
        return None
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def get(key: str) -> Any:
    client = _redis()
    if client is None:
        return cache.get(_PREFIX + key)
    raw = client.get(_PREFIX + key)
    return pickle.loads(raw) if raw is not None else None


def set(key: str, value: Any, timeout: int) -> None:  # noqa: A001 - mirrors the cache API
    client = _redis()
    if client is None:
        cache.set(_PREFIX + key, value, timeout)
    else:
        client.set(_PREFIX + key, pickle.dumps(value, pickle.HIGHEST_PROTOCOL), ex=timeout)


def get_and_claim(key: str, claim: str, claim_timeout: int) -> tuple[Any, bool]:
    """Read `key` and try to claim the flag `claim` for `claim_timeout` s, in one round trip.

    Returns (value, claimed). Used to read the gate state and take the once-a-minute right to
    write a key's last-used time together.
    """
    client = _redis()
    if client is None:
        return cache.get(_PREFIX + key), cache.add(_PREFIX + claim, 1, claim_timeout)
    pipe = client.pipeline(transaction=False)
    pipe.get(_PREFIX + key)
    pipe.set(_PREFIX + claim, 1, ex=claim_timeout, nx=True)
    raw, claimed = pipe.execute()
    return (pickle.loads(raw) if raw is not None else None), bool(claimed)


def forget(key: str) -> None:
    """Drop `key` now and again after the surrounding transaction commits, so no reader re-caches old rows."""

    def delete() -> None:
        client = _redis()
        if client is None:
            cache.delete(_PREFIX + key)
        else:
            client.delete(_PREFIX + key)

    delete()
    transaction.on_commit(delete)


# KEYS[1] the key principal's hash; ARGV access-state prefix, last-used claim prefix, claim seconds.
# Reads the principal, its organisation's gate state and claims the last-used write: one round trip.
_READ_KEY_LUA = """
local p = redis.call('HMGET', KEYS[1], 'org', 'id', 'value')
if not p[3] then return false end
local state = redis.call('GET', ARGV[1] .. p[1])
local claimed = redis.call('SET', ARGV[2] .. p[2], 1, 'EX', tonumber(ARGV[3]), 'NX')
return {p[3], state or '', claimed and 1 or 0}
"""


@dataclass(frozen=True)
class KeyRead:
    principal: Any
    access_state: Any  # None when not cached (or without Redis: not read yet)
    claimed: bool | None  # whether this request may write last-used; None when not asked yet


@lru_cache(maxsize=1)
def _read_key_script() -> Any:
    return _redis().register_script(_READ_KEY_LUA)


def read_key(key: str, *, access_prefix: str, claim_prefix: str, claim_timeout: int) -> KeyRead | None:
    """A cached key principal and, with Redis, its gate state and last-used claim in the same round trip."""
    client = _redis()
    if client is None:
        principal = cache.get(_PREFIX + key)
        return KeyRead(principal, None, None) if principal is not None else None
    found = _read_key_script()(keys=[_PREFIX + key], args=[_PREFIX + access_prefix, _PREFIX + claim_prefix,
                                                           claim_timeout])
    if not found:
        return None
    raw_principal, raw_state, claimed = found
    return KeyRead(pickle.loads(raw_principal), pickle.loads(raw_state) if raw_state else None, bool(claimed))


def set_key(key: str, principal: Any, *, organization_id: int, key_id: int, timeout: int) -> None:
    client = _redis()
    if client is None:
        cache.set(_PREFIX + key, principal, timeout)
        return
    pipe = client.pipeline(transaction=True)
    pipe.hset(_PREFIX + key, mapping={"org": organization_id, "id": key_id,
                                      "value": pickle.dumps(principal, pickle.HIGHEST_PROTOCOL)})
    pipe.expire(_PREFIX + key, timeout)
    pipe.execute()
