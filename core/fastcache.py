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
from django.utils import timezone

from .ratelimit import (
    BUCKET_PREFIX,
    GCRA_LUA_FUNCTION,
    PERIOD_SECONDS,
    Decision,
    decision_from,
)

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


def add(key: str, value: Any, timeout: int, *, also_set: tuple[str, Any, int] | None = None) -> bool:
    """Set `key` only if it is absent (for `timeout` s); True if this call set it. A flag, in one round trip.

    `also_set` (key, value, timeout) is set unconditionally in the same round trip: a caller with two
    writes to make (an event's commit wakes its turn and the event log's long polls) pays for one."""
    client = _redis()
    if client is None:
        if also_set is not None:
            set(*also_set)
        return bool(cache.add(_PREFIX + key, value, timeout))
    flag = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    if also_set is None:
        return bool(client.set(_PREFIX + key, flag, ex=max(1, timeout), nx=True))
    other_key, other_value, other_timeout = also_set
    pipe = client.pipeline(transaction=False)
    pipe.set(_PREFIX + other_key, pickle.dumps(other_value, pickle.HIGHEST_PROTOCOL), ex=other_timeout)
    pipe.set(_PREFIX + key, flag, ex=max(1, timeout), nx=True)
    return bool(pipe.execute()[1])


def delete(key: str) -> None:
    client = _redis()
    if client is None:
        cache.delete(_PREFIX + key)
    else:
        client.delete(_PREFIX + key)


_ADMISSION = ":admit"
_GENERATION = ":gen"
# Generations outlive any cached value by far, so a reader never sees one reset under it.
_GENERATION_SECONDS = 7 * 24 * 3600


def generation(key: str) -> int:
    """How many times `key` has been forgotten: read it before loading what `set_with_admission` stores."""
    client = _redis()
    raw = cache.get(_PREFIX + key + _GENERATION) if client is None else client.get(_PREFIX + key + _GENERATION)
    return int(raw or 0)


# KEYS: value, admission, generation. ARGV: pickled value, admission line, timeout, generation read
# before loading. Writes only when no `forget` came in between: a reader that loaded the rows just
# before a change committed must not cache the old answer after the change dropped it.
_SET_IF_CURRENT_LUA = """
if tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def set_with_admission(key: str, value: Any, admission: str, timeout: int, *, generation: int) -> None:
    """`set`, plus a plain-text companion the authentication script can read without unpickling
    (see `read_key`), unless `key` was forgotten since `generation` was read. Without Redis only the
    value is stored."""
    client = _redis()
    if client is None:
        if int(cache.get(_PREFIX + key + _GENERATION) or 0) == generation:
            cache.set(_PREFIX + key, value, timeout)
        return
    client.eval(
        _SET_IF_CURRENT_LUA,
        3,
        _PREFIX + key,
        _PREFIX + key + _ADMISSION,
        _PREFIX + key + _GENERATION,
        pickle.dumps(value, pickle.HIGHEST_PROTOCOL),
        admission,
        timeout,
        generation,
    )


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
    """Drop `key` now and again after the surrounding transaction commits, so no reader re-caches old rows.

    Each drop also moves the key's generation on, so a reader that loaded the rows before it cannot
    store them after it (`set_with_admission`).
    """

    def delete() -> None:
        client = _redis()
        if client is None:
            cache.delete(_PREFIX + key)
            generation_key = _PREFIX + key + _GENERATION
            if not cache.add(generation_key, 1, _GENERATION_SECONDS):
                cache.incr(generation_key)
        else:
            pipe = client.pipeline(transaction=True)
            pipe.delete(_PREFIX + key, _PREFIX + key + _ADMISSION)
            pipe.incr(_PREFIX + key + _GENERATION)
            pipe.expire(_PREFIX + key + _GENERATION, _GENERATION_SECONDS)
            pipe.execute()

    delete()
    transaction.on_commit(delete)


# KEYS[1] the key principal's hash. ARGV: access-state prefix, last-used claim prefix, claim seconds,
# and to admit the request too: required scope ('' for none), now (unix s), period (us), bucket
# prefix, counter hash ('' for none), counter epoch hour.
# Reads the principal, its organisation's gate state and claims the last-used write. When asked,
# and when the key is usable, the gate open and the scope held — the checks the request goes
# through before the rate limit, mirrored from plain fields — it also takes the rate-limit step and
# counts the request for billing, exactly as `ratelimit` would next: all in one round trip.
_READ_KEY_LUA = (
    GCRA_LUA_FUNCTION
    + """
local p = redis.call('HMGET', KEYS[1], 'org', 'id', 'value', 'scopes', 'exp', 'rev', 'mode')
if not p[3] then return false end
local state = redis.call('GET', ARGV[1] .. p[1])
local claimed = redis.call('SET', ARGV[2] .. p[2], 1, 'EX', tonumber(ARGV[3]), 'NX')
local decision = {}
if ARGV[4] and p[4] and p[6] == '0' and (p[5] == '' or tonumber(ARGV[5]) < tonumber(p[5])) then
  local admission = redis.call('GET', ARGV[1] .. p[1] .. '"""
    + _ADMISSION
    + """')
  local open, limit, credits = string.match(admission or '', '^(%d) (%d+) (%d)$')
  if open == '1' and (ARGV[4] == '' or string.find(p[4], ' ' .. ARGV[4] .. ' ', 1, true)) then
    limit = math.max(1, tonumber(limit))
    local allowed, remaining, retry, reset, now = gcra(ARGV[7] .. 'key:' .. p[2], tonumber(ARGV[6]), limit, 1)
    local counted = 0
    if allowed == 1 and ARGV[8] ~= '' and not (p[7] == 'live' and credits == '0') then
      redis.call('HINCRBY', ARGV[8], ARGV[9] .. ':' .. p[1] .. ':' .. p[2] .. ':' .. p[7], 1)
      counted = 1
    end
    decision = {allowed, remaining, retry, reset, now, limit, counted}
  end
end
return {p[3], state or '', claimed and 1 or 0, decision}
"""
)


@dataclass(frozen=True)
class Admission:
    """The rate-limit step the authentication script took, and whether it counted the request."""

    decision: Decision
    counted: bool


@dataclass(frozen=True)
class KeyRead:
    principal: Any
    access_state: Any  # None when not cached (or without Redis: not read yet)
    claimed: bool | None  # whether this request may write last-used; None when not asked yet
    admission: Admission | None = None  # set when the script also admitted the request


@lru_cache(maxsize=1)
def _read_key_script() -> Any:
    return _redis().register_script(_READ_KEY_LUA)


def read_key(
    key: str,
    *,
    access_prefix: str,
    claim_prefix: str,
    claim_timeout: int,
    admit: tuple[str, tuple[str, int] | None] | None = None,
) -> KeyRead | None:
    """A cached key principal and, with Redis, its gate state and last-used claim in the same round trip.

    ``admit=(required scope, (counter hash, epoch hour) or None)`` also takes the rate-limit step
    (and counts the request) when the checks before it pass; see `_READ_KEY_LUA`.
    """
    client = _redis()
    if client is None:
        principal = cache.get(_PREFIX + key)
        return KeyRead(principal, None, None) if principal is not None else None
    args: list[Any] = [_PREFIX + access_prefix, _PREFIX + claim_prefix, claim_timeout]
    if admit is not None:
        scope, counter = admit
        counter_hash, epoch_hour = counter or ("", 0)
        # The same clock as the key's expiry check in Python, so both agree at the edge.
        args += [scope, timezone.now().timestamp(), PERIOD_SECONDS * 1_000_000, BUCKET_PREFIX, counter_hash, epoch_hour]
    found = _read_key_script()(keys=[_PREFIX + key], args=args)
    if not found:
        return None
    raw_principal, raw_state, claimed, admitted = found
    admission = None
    if admitted:
        admission = Admission(decision_from(admitted, limit=int(admitted[5])), bool(admitted[6]))
    return KeyRead(
        pickle.loads(raw_principal), pickle.loads(raw_state) if raw_state else None, bool(claimed), admission
    )


def set_key(key: str, principal: Any, *, organization_id: int, key_id: int, timeout: int) -> None:
    client = _redis()
    if client is None:
        cache.set(_PREFIX + key, principal, timeout)
        return
    expires_at = getattr(principal, "expires_at", None)
    pipe = client.pipeline(transaction=True)
    pipe.hset(
        _PREFIX + key,
        mapping={
            "org": organization_id,
            "id": key_id,
            "value": pickle.dumps(principal, pickle.HIGHEST_PROTOCOL),
            # Plain copies of what the script checks before admitting a request (see _READ_KEY_LUA).
            "scopes": " " + " ".join(sorted(principal.scopes)) + " ",
            "mode": principal.mode,
            "exp": repr(expires_at.timestamp()) if expires_at else "",
            "rev": "1" if principal.revoked else "0",
        },
    )
    pipe.expire(_PREFIX + key, timeout)
    pipe.execute()
