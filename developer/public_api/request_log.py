"""Request logs: every public-API request, recorded without a database write on the request path.

`RequestLogMiddleware` measures each request under the API prefix and pushes one small dict onto a
buffer; a flush turns buffered entries into `RequestLog` rows with one COPY per batch (PostgreSQL)
or one `bulk_create`.

Buffers (REQUEST_LOG_BUFFER):
- "memory", the default: an in-process deque, flushed by a daemon thread every REQUEST_LOG_FLUSH_SECONDS or as
  soon as REQUEST_LOG_BATCH_SIZE entries are waiting, and at interpreter exit. A process killed
  with SIGKILL loses at most its last unflushed second of logs; that is the price of "no Redis".
- "redis" (with settings.REDIS_URL): one list shared by every web process, costing a round trip per request. A flush moves a batch
  atomically onto a private "processing" list, inserts it, then deletes that list, so an entry is
  always either waiting, being inserted, or in the table. A flusher that died mid-batch leaves its
  processing list behind; the next flush inserts it again.
Rows are unique on `request_id` and inserted with `ignore_conflicts`, so inserting a batch twice
(a retry, a recovered processing list) never duplicates a request. The Celery beat task
`developer.flush_request_logs` flushes the shared Redis list even when no web process is busy.

A key or `whsec_` secret in the path or the query string is redacted before the entry is buffered
(`redact_path`, `scrub_query`), so neither the buffer nor the table ever holds one.

Entries from failed authentications carry the SHA-256 of the presented key (never the key); the
flush resolves those hashes to keys in one query, so a revoked key's 401s land in its owner's logs.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from developer.keys import PREFIXES, hash_secret, mask, mode_of
from developer.log_codec import API_PATH_PREFIX, decode_path, decode_request_id, encode_path, encode_request_id
from developer.logging import redact_path
from developer.public_api.middleware import new_request_id

logger = logging.getLogger(__name__)

RETENTION = timedelta(days=30)
# Weeks of partitions made ahead by each prune (every 6 hours) on PostgreSQL.
PARTITION_AHEAD_WEEKS = 1

# Query parameters whose value is a credential whatever it looks like.
_SECRET_PARAM = re.compile(
    r"(?i)(api[_-]?key|apikey|key|token|secret|password|passwd|authorization|auth|signature|sig)$"
)
_KEY_IN_VALUE = re.compile(r"aip_(live|test)_[A-Za-z0-9_\-]+|whsec_[A-Za-z0-9_\-]+")
REDACTED = "[REDACTED]"


# --- pure helpers ----------------------------------------------------------------------------------


def scrub_query(query_string: str, *, max_length: int = 1000) -> str:
    """The query string as logged: any credential-looking parameter has its value replaced.

    A caller who puts a key in the URL must not find it again in the dashboard, so both
    credential-named parameters and any value containing a key prefix are redacted.
    """
    if not query_string:
        return ""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    cleaned = [
        (name, REDACTED if _SECRET_PARAM.search(name) or _KEY_IN_VALUE.search(value) else value)
        for name, value in pairs
    ]
    # Names can carry a key too (`?aip_live_…`): redact inside names as well.
    cleaned = [(_KEY_IN_VALUE.sub(REDACTED, name), value) for name, value in cleaned]
    return urlencode(cleaned, safe="[]/:,")[:max_length]


def mask_presented(secret: str | None) -> str:
    """A masked form of whatever key the caller sent, or "" when it does not look like a key."""
    if not secret:
        return ""
    mode = mode_of(secret)
    return mask(PREFIXES[mode], secret[-4:]) if mode else ""


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx"


# --- buffers -----------------------------------------------------------------------------------------


class MemoryBuffer:
    """Per-process FIFO. Bounded: if the database is unreachable for long, the oldest entries go first."""

    def __init__(self, max_entries: int) -> None:
        self._entries: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.dropped = 0

    def push(self, entry: dict[str, Any]) -> int:
        with self._lock:
            self._entries.append(entry)
            while len(self._entries) > self.max_entries:
                self._entries.popleft()
                self.dropped += 1
            return len(self._entries)

    def flush(self, insert: Callable[[list[dict[str, Any]]], None], batch_size: int) -> int:
        flushed = 0
        while True:
            with self._lock:
                batch = [self._entries.popleft() for _ in range(min(batch_size, len(self._entries)))]
            if not batch:
                return flushed
            try:
                insert(batch)
            except Exception:
                # Put the batch back in front, in order, and let the next flush retry it.
                with self._lock:
                    self._entries.extendleft(reversed(batch))
                raise
            flushed += len(batch)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# Moves up to ARGV[1] entries from the head of KEYS[1] to KEYS[2] and registers KEYS[2] in the
# KEYS[3] sorted set (score: unix time) in one atomic step, so no entry is ever in neither place.
_CLAIM_LUA = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('ZADD', KEYS[3], ARGV[2], KEYS[2])
return items
"""


class RedisBuffer:
    """A Redis list shared by every process; see the module docstring for the claim protocol."""

    # A processing list older than this belongs to a flusher that died; its batch is inserted again.
    STALE_AFTER_SECONDS = 120

    def __init__(self, url: str, key: str, max_entries: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.key = key
        self.registry = f"{key}:processing"
        self.max_entries = max_entries
        self._claim = self.client.register_script(_CLAIM_LUA)

    def push(self, entry: dict[str, Any]) -> int:
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(self.key, json.dumps(entry, separators=(",", ":")))
        pipe.ltrim(self.key, -self.max_entries, -1)
        length, _ = pipe.execute()
        return int(length)

    def _insert_processing(self, name: str, insert: Callable[[list[dict[str, Any]]], None]) -> int:
        # redis-py types replies as `Awaitable[T] | T` for both clients; this one is synchronous.
        batch = [json.loads(raw) for raw in cast("list[bytes]", self.client.lrange(name, 0, -1))]
        if batch:
            insert(batch)
        pipe = self.client.pipeline()
        pipe.delete(name)
        pipe.zrem(self.registry, name)
        pipe.execute()
        return len(batch)

    def recover(self, insert: Callable[[list[dict[str, Any]]], None]) -> int:
        cutoff = time.time() - self.STALE_AFTER_SECONDS
        recovered = 0
        for name in cast("list[bytes]", self.client.zrangebyscore(self.registry, 0, cutoff)):
            recovered += self._insert_processing(name.decode(), insert)
        return recovered

    def flush(self, insert: Callable[[list[dict[str, Any]]], None], batch_size: int) -> int:
        flushed = self.recover(insert)
        while True:
            name = f"{self.key}:processing:{uuid.uuid4().hex}"
            claimed = self._claim(keys=[self.key, name, self.registry], args=[batch_size, int(time.time())])
            if not claimed:
                return flushed
            # On failure the processing list stays registered and is retried once it is stale.
            flushed += self._insert_processing(name, insert)

    def __len__(self) -> int:
        return int(cast(int, self.client.llen(self.key)))

    def clear(self) -> None:
        names = cast("list[bytes]", self.client.zrange(self.registry, 0, -1))
        self.client.delete(self.key, self.registry, *names)


@lru_cache(maxsize=1)
def _buffer_for(redis_url: str, key: str, max_entries: int) -> MemoryBuffer | RedisBuffer:
    if redis_url:
        return RedisBuffer(redis_url, key, max_entries)
    return MemoryBuffer(max_entries)


def buffer() -> MemoryBuffer | RedisBuffer:
    redis_url = settings.REDIS_URL if settings.REQUEST_LOG_BUFFER == "redis" else ""
    return _buffer_for(redis_url, settings.REQUEST_LOG_REDIS_KEY, settings.REQUEST_LOG_MAX_BUFFER)


# --- flushing ----------------------------------------------------------------------------------------


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# In the table's column order (migration 0009), the order COPY writes them in.
_COLUMNS = (
    "created_at",
    "organization_id",
    "api_key_id",
    "latency_hundredths",
    "agent_id",
    "status_code",
    "request_id",
    "mode",
    "method",
    "path",
    "query_string",
    "error_code",
    "key_masked",
    "client_ip",
)


def agent_ids(texts: set[str]) -> dict[str, int]:
    """The `UserAgent` id of each text, storing the ones not met before.

    One query per batch when every agent is known (a handful of SDK versions make most requests).
    Not cached across batches: a cached id could outlive its row's transaction.
    """
    from developer.models import UserAgent

    if not texts:
        return {}
    # Seen today, before they are looked up: the prune deletes only agents not seen within the retention,
    # so one it deleted before this update is not found and is stored again below, and one found is kept.
    today = timezone.now().date()
    UserAgent.objects.filter(text__in=texts, last_seen_on__lt=today).update(last_seen_on=today)
    found = dict(UserAgent.objects.filter(text__in=texts).values_list("text", "pk"))
    if missing := texts - found.keys():
        UserAgent.objects.bulk_create([UserAgent(text=text) for text in missing], ignore_conflicts=True)
        found.update(UserAgent.objects.filter(text__in=missing).values_list("text", "pk"))
    return found


def insert_entries(entries: list[dict[str, Any]]) -> None:
    """Insert a batch; duplicates (same request id) are skipped by the unique constraint.

    Links are checked first (two small queries per batch) because a key or organisation may have been
    deleted since the request. On PostgreSQL the rows go in with one COPY, far cheaper per row than
    an INSERT; a batch that meets a duplicate (a retried flush) is inserted again with ON CONFLICT.
    """
    from django.db import IntegrityError, connection, transaction

    from accounts.models import Organization
    from developer.models import ApiKey, RequestLog

    hashes = {e["key_hash"] for e in entries if e.get("key_hash") and not e.get("key_id")}
    key_ids = {e["key_id"] for e in entries if e.get("key_id")}
    keys = (
        ApiKey.objects.filter(Q(key_hash__in=hashes) | Q(pk__in=key_ids)).only(
            "id", "key_hash", "organization_id", "mode", "prefix", "last4"
        )
        if hashes or key_ids
        else []
    )
    by_hash = {k.key_hash: k for k in keys}
    live_keys = {k.pk for k in keys}
    agents = agent_ids({e["ua"] for e in entries if e.get("ua")})
    rows = []
    for e in entries:
        key_id, org_id, mode, masked = e.get("key_id"), e.get("org_id"), e.get("mode", ""), e.get("key_masked", "")
        if not key_id and e.get("key_hash") in by_hash:
            key = by_hash[e["key_hash"]]
            key_id, org_id, mode, masked = key.pk, key.organization_id, key.mode, key.masked
        key_id = key_id if key_id in live_keys else None
        rows.append(
            (
                _parse_time(e["at"]),
                org_id,
                key_id,
                round(e["latency_ms"] * 100),  # hundredths of a millisecond (HundredthsField)
                agents.get(e.get("ua", "")),
                e["status"],
                encode_request_id(e["request_id"]),
                mode,
                e["method"],
                # Redacted again, for entries buffered by a process that predates the redaction.
                encode_path(redact_path(e["path"])),
                e.get("query", ""),
                e.get("error_code", ""),
                "" if key_id else masked,  # a matched key's mask is its row's
                e.get("ip") or None,
            )
        )
    org_ids = {row[1] for row in rows if row[1]}
    live_orgs = set(Organization.objects.filter(pk__in=org_ids).values_list("pk", flat=True)) if org_ids else set()
    # A deleted organisation takes its logs with it, including the ones still in the buffer.
    rows = [row for row in rows if row[1] is None or row[1] in live_orgs]
    if not rows:
        return
    if connection.vendor == "postgresql":
        table, columns = RequestLog._meta.db_table, ", ".join(_COLUMNS)
        try:
            with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        except IntegrityError:
            pass  # some of the batch is already in: insert the rest row by row below
    RequestLog.objects.bulk_create([_model_row(row) for row in rows], ignore_conflicts=True)


def _model_row(row: tuple[Any, ...]) -> Any:
    """A COPY row as a model instance: its fields encode the values again, so they get the Python ones."""
    from developer.models import RequestLog

    values = dict(zip(_COLUMNS, row, strict=True))
    values["latency_ms"] = values.pop("latency_hundredths") / 100
    values["request_id"] = decode_request_id(values["request_id"])
    values["path"] = decode_path(values["path"])
    return RequestLog(**values)


def flush(batch_size: int | None = None) -> int:
    """Insert everything buffered (in this process, or in Redis). Returns the number of entries handled."""
    return buffer().flush(insert_entries, batch_size or settings.REQUEST_LOG_BATCH_SIZE)


def prune(*, now: datetime | None = None, chunk: int = 5000) -> int:
    """Delete rows older than the retention, a chunk at a time so no long lock is held.

    On PostgreSQL the table is partitioned by week (core/partitions.py): the weeks ahead are made and
    whole weeks past the retention dropped, at the same cost at any volume; the row deletes below then
    meet only the default partition's strays. Returns the rows deleted one by one (drops are logged).
    """
    from core import partitions
    from developer.models import RequestLog, UserAgent

    now = now or timezone.now()
    cutoff = now - RETENTION
    table = RequestLog._meta.db_table
    if partitions.is_partitioned(table):
        partitions.ensure_partitions(table, "created_at", now=now, ahead=PARTITION_AHEAD_WEEKS)
        cutoff = partitions.period_start(cutoff)
        partitions.drop_partitions(table, before=cutoff)
    deleted = 0
    while True:
        ids = list(RequestLog.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:chunk])
        if not ids:
            break
        deleted += RequestLog.objects.filter(pk__in=ids).delete()[0]
    # Every row left was logged on or after the cutoff's day, by a flush that marked its agent seen that day.
    UserAgent.objects.filter(last_seen_on__lt=cutoff.astimezone(UTC).date()).delete()
    return deleted


class _Flusher:
    """The per-process background thread: wakes every interval, or at once when a batch is full."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.pid: int | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        interval = settings.REQUEST_LOG_FLUSH_SECONDS
        if interval <= 0 or self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            # A forked worker inherits `pid` from its parent but not the thread: start one per process.
            self.pid = os.getpid()
            self.stopping.clear()
            self.thread = threading.Thread(target=self._run, args=(interval,), name="request-log-flusher", daemon=True)
            self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Flush once more and end the thread (tests, and a clean shutdown)."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self.thread, self.pid = None, None

    def _run(self, interval: float) -> None:
        from django.db import close_old_connections, connection

        try:
            while not self.stopping.is_set():
                self.wake.wait(interval)
                self.wake.clear()
                try:
                    flush()
                except Exception:
                    logger.exception("Request log flush failed; the batch stays buffered and is retried.")
                finally:
                    close_old_connections()
        finally:
            connection.close()


_flusher = _Flusher()


@atexit.register
def _flush_at_exit() -> None:
    if _flusher.pid == os.getpid() and isinstance(buffer(), MemoryBuffer):
        try:
            flush()
        except Exception:
            logger.exception("Request log flush at exit failed.")


# --- recording ----------------------------------------------------------------------------------------


def _error_code(response: HttpResponse) -> str:
    code = getattr(response, "error_code", None)
    if code:
        return str(code)
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        # Errors produced outside DRF (Django's 404/500 handlers) carry the code only in the body.
        try:
            return str(json.loads(response.content[:8192])["error"]["code"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return ""
    return ""


def entry_for(
    request: HttpRequest, response: HttpResponse, *, started_at: datetime, latency_ms: float
) -> dict[str, Any]:
    """What one request contributes to the log: plain JSON-able values, never the key itself."""
    from .authentication import client_ip, presented_secret

    entry: dict[str, Any] = {
        "request_id": getattr(request, "request_id", None) or new_request_id(),
        "at": started_at.isoformat(),
        "method": request.method or "",
        # A key pasted into the path is redacted before it is buffered; PostgreSQL text cannot hold NUL.
        "path": redact_path(request.path)[:500].replace("\x00", "\ufffd"),
        "query": scrub_query(request.META.get("QUERY_STRING", "")),
        "status": response.status_code,
        "error_code": _error_code(response),
        "latency_ms": round(latency_ms, 2),
        "ip": client_ip(request),
        "ua": request.META.get("HTTP_USER_AGENT", "")[:200].replace("\x00", "\ufffd"),
    }
    principal = getattr(request, "auth", None)
    if principal is not None and hasattr(principal, "organization_id"):
        entry.update(
            key_id=principal.id, org_id=principal.organization_id, mode=principal.mode, key_masked=principal.masked
        )
    else:
        secret = presented_secret(request)
        if secret:
            entry.update(key_hash=hash_secret(secret), mode=mode_of(secret) or "", key_masked=mask_presented(secret))
    if entry["ip"] == "unknown":
        entry["ip"] = None
    return entry


def record(entry: dict[str, Any]) -> None:
    """Buffer one entry; wake the flusher when a batch is ready. Never raises into the request."""
    try:
        waiting = buffer().push(entry)
    except Exception:
        logger.exception("Could not buffer request log entry %s", entry.get("request_id"))
        return
    _flusher.ensure_running()
    if waiting >= settings.REQUEST_LOG_BATCH_SIZE:
        _flusher.wake.set()


class RequestLogMiddleware:
    """Logs every request under the API prefix, whatever answered it: a view, the catch-all, or a 500.

    Placed right after RequestIdMiddleware so it sees the request id and times the whole stack.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.REQUEST_LOG_ENABLED:
            raise MiddlewareNotUsed("REQUEST_LOG_ENABLED is off")
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PATH_PREFIX):
            return self.get_response(request)
        started_at = timezone.now()
        start = time.perf_counter()
        response = self.get_response(request)
        latency_ms = (time.perf_counter() - start) * 1000
        try:
            record(entry_for(request, response, started_at=started_at, latency_ms=latency_ms))
        except Exception:
            logger.exception("Could not log request %s", getattr(request, "request_id", "?"))
        return response
