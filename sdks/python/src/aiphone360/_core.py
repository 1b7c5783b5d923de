"""The HTTP core shared by every resource: authentication, the envelope, errors, retries and logging.

Retry policy (the same as the TypeScript SDK's): network errors, timeouts, 429 and 5xx are retried
up to ``max_retries`` times with exponential backoff (each wait drawn between half and all of
0.5 s × 2^n, capped at 8 s); a ``Retry-After`` header, when present, sets the wait instead (one
longer than a minute is not waited out). A 409 ``IDEMPOTENCY_KEY_IN_USE`` (the first try of the
same write is still running) is retried too. Every write (POST, PATCH, DELETE) carries an
``Idempotency-Key`` generated once per call and reused on its retries; the API honours it on every
write, so a retry after a lost answer gets the first answer back instead of acting twice.

``Core`` runs a request on an ``httpx.Client``, ``AsyncCore`` on an ``httpx.AsyncClient``; both share
the preparation, the reading of answers and the logging below.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import platform
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from ._errors import AiPhone360Error, APIConnectionError, APITimeoutError, error_class, parse_retry_after
from ._version import __version__

VERSION = __version__
DEFAULT_BASE_URL = "https://api.aiphone360.com/api/public/v1"
DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT = 60.0

# First retry waits about this long; each further retry doubles it, up to the cap.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A Retry-After longer than this is not waited out: the error is raised for the caller to decide.
MAX_RETRY_AFTER = 60.0

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: A number of seconds (per attempt) or an ``httpx.Timeout`` with separate connect/read/write/pool limits.
Timeout = float | httpx.Timeout

logger = logging.getLogger("aiphone360")


def retry_delay(retry: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``retry`` (0-based)."""
    if retry_after is not None:
        # Honour the server's wait; a little extra jitter keeps many clients from returning in lockstep.
        return retry_after + rand() * min(1.0, retry_after * 0.1 + 0.1)
    ceiling: float = min(MAX_RETRY_DELAY, INITIAL_RETRY_DELAY * 2.0**retry)
    return ceiling / 2 + rand() * ceiling / 2


def _retryable(status: int, code: str | None) -> bool:
    return status == 429 or status >= 500 or (status == 409 and code == "IDEMPOTENCY_KEY_IN_USE")


def telemetry_headers() -> dict[str, str]:
    """Which SDK, language and version is calling: the API's logs can tell an SDK bug from a caller's."""
    details = {
        "bindings_version": VERSION,
        "lang": "python",
        "lang_version": platform.python_version(),
        "platform": platform.platform(terse=True),
        "httplib": "httpx",
        "httplib_version": httpx.__version__,
    }
    return {
        "User-Agent": f"aiphone360-python/{VERSION} (python {platform.python_version()}; httpx {httpx.__version__})",
        "X-AiPhone360-Client-User-Agent": json.dumps(details, separators=(",", ":")),
    }


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset: int | None  # Unix time when the bucket is full again


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ResponseInfo:
    """The HTTP answer behind a result: ``result.last_response`` (and ``page.last_response``)."""

    http_response: httpx.Response = field(repr=False)
    #: How many retries it took (0: the first attempt answered).
    retries: int
    #: Seconds from the first attempt to this answer, retries and waits included.
    elapsed: float

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """``X-Request-Id``: quote it to support."""
        value = self.http_response.headers.get("x-request-id")
        return str(value) if value is not None else None

    @property
    def idempotent_replayed(self) -> bool:
        """True when the API replayed the stored answer of an earlier request with the same Idempotency-Key."""
        return bool(self.http_response.headers.get("idempotent-replayed") == "true")

    @property
    def idempotency_key(self) -> str | None:
        value = self.http_response.request.headers.get("idempotency-key")
        return str(value) if value is not None else None

    @property
    def rate_limit(self) -> RateLimit:
        headers = self.http_response.headers
        return RateLimit(
            limit=_int_header(headers, "x-ratelimit-limit"),
            remaining=_int_header(headers, "x-ratelimit-remaining"),
            reset=_int_header(headers, "x-ratelimit-reset"),
        )


@dataclass(frozen=True)
class Result:
    envelope: dict[str, Any]
    info: ResponseInfo


@dataclass(frozen=True)
class Settings:
    """A client's options; ``with_options`` copies them with some changed."""

    api_key: str = field(repr=False)
    base_url: str
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: Timeout = DEFAULT_TIMEOUT
    default_headers: Mapping[str, str] = field(default_factory=dict)
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger

    def changed(self, **changes: Any) -> Settings:
        return replace(self, **{name: value for name, value in changes.items() if value is not None})


@dataclass
class Prepared:
    method: str
    url: str
    params: dict[str, str]
    headers: httpx.Headers
    content: bytes | None
    max_retries: int
    timeout: httpx.Timeout


def _timeout(value: Timeout) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or an httpx.Timeout, not {type(value).__name__}")
    return httpx.Timeout(float(value))


def _describe_timeout(timeout: httpx.Timeout) -> str:
    limits = {timeout.connect, timeout.read, timeout.write, timeout.pool} - {None}
    return f"{max(limits):g} s" if limits else "the timeout"  # type: ignore[type-var]


def prepare(
    settings: Settings,
    method: str,
    path: str,
    *,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
    idempotency_key: str | None = None,
    max_retries: int | None = None,
    timeout: Timeout | None = None,
    headers: Mapping[str, str] | None = None,
) -> Prepared:
    request_headers = httpx.Headers(
        {"Accept": "application/json", **telemetry_headers(), "Authorization": f"Bearer {settings.api_key}"}
    )
    # httpx.Headers is case-insensitive: a caller's `idempotency-key` replaces ours, never joins it.
    request_headers.update(dict(settings.default_headers))
    request_headers.update(dict(headers or {}))
    content: bytes | None = None
    if method in ("POST", "PUT", "PATCH"):
        request_headers["Content-Type"] = "application/json"
        content = json.dumps({} if body is None else body, ensure_ascii=False).encode("utf-8")
    if method in WRITE_METHODS:
        # Generated once per call, so every retry of this call presents the same key.
        request_headers["Idempotency-Key"] = (
            idempotency_key or request_headers.get("idempotency-key") or str(uuid.uuid4())
        )
    return Prepared(
        method=method,
        url=settings.base_url.rstrip("/") + path,
        params={k: _query_value(v) for k, v in (query or {}).items() if v is not None},
        headers=request_headers,
        content=content,
        max_retries=settings.max_retries if max_retries is None else max_retries,
        timeout=_timeout(settings.timeout if timeout is None else timeout),
    )


@dataclass
class Attempt:
    """What one attempt came to: a result, or a failure and whether (and after how long) to retry."""

    result: Result | None = None
    failure: AiPhone360Error | None = None
    retry: bool = False
    retry_after: float | None = None


def read_answer(prepared: Prepared, response: httpx.Response, retries: int, started: float) -> Attempt:
    parsed = _parse(response.content)
    if 200 <= response.status_code < 300 and _is_envelope(parsed):
        info = ResponseInfo(http_response=response, retries=retries, elapsed=time.monotonic() - started)
        return Attempt(result=Result(envelope=parsed, info=info))
    failure = _error_from_response(response, parsed)
    if not _retryable(response.status_code, failure.code):
        return Attempt(failure=failure)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None and retry_after > MAX_RETRY_AFTER:
        return Attempt(failure=failure)
    return Attempt(failure=failure, retry=True, retry_after=retry_after)


def transport_failure(prepared: Prepared, exc: Exception) -> Attempt:
    failure: AiPhone360Error
    if isinstance(exc, httpx.TimeoutException):
        failure = APITimeoutError(
            f"No response within {_describe_timeout(prepared.timeout)} ({prepared.method} {prepared.url}).",
            code="TIMEOUT",
            status=0,
        )
    else:
        failure = APIConnectionError(
            f"Could not reach the AI Phone 360 API ({prepared.method} {prepared.url}): {exc}",
            code="CONNECTION_ERROR",
            status=0,
        )
    failure.__cause__ = exc
    return Attempt(failure=failure, retry=True)


def log_outcome(settings: Settings, prepared: Prepared, attempt: Attempt, retries: int, started: float) -> None:
    """One line per attempt: method, path, status, request id, retry count, latency. Never the key."""
    log = settings.logger
    if not log.isEnabledFor(logging.DEBUG):
        return
    path = httpx.URL(prepared.url).path
    latency_ms = (time.monotonic() - started) * 1000
    if attempt.result is not None:
        status, request_id = attempt.result.info.status_code, attempt.result.info.request_id
    else:
        assert attempt.failure is not None
        status, request_id = attempt.failure.status, attempt.failure.request_id
    outcome = "retrying" if attempt.retry else ("ok" if attempt.result is not None else attempt.failure.code)  # type: ignore[union-attr]
    log.debug(
        "%s %s -> %s %s (request %s, retry %d, %.0f ms)",
        prepared.method,
        path,
        status or "no answer",
        outcome,
        request_id or "-",
        retries,
        latency_ms,
        extra={
            "aiphone360": {
                "method": prepared.method,
                "path": path,
                "status": status,
                "request_id": request_id,
                "retry": retries,
                "latency_ms": round(latency_ms, 1),
            }
        },
    )


class Core:
    """The synchronous client's transport: an ``httpx.Client`` (yours or one it owns)."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._owns_client = http_client is None
        self._http = http_client or httpx.Client()
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def copy(self, **changes: Any) -> Core:
        """The same connection pool with other settings (``with_options``)."""
        twin = Core(self.settings.changed(**changes), http_client=self._http, sleep=self._sleep)
        twin._owns_client = False
        return twin

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Result:
        """One API call: the success envelope (``data``, ``pagination``, ``message``) with its HTTP answer,
        or an AiPhone360Error subclass."""
        prepared = prepare(self.settings, method, path, **kwargs)
        started = time.monotonic()
        retries = 0
        while True:
            attempt_started = time.monotonic()
            try:
                response = self._http.request(
                    prepared.method,
                    prepared.url,
                    params=prepared.params,
                    content=prepared.content,
                    headers=prepared.headers,
                    timeout=prepared.timeout,
                )
            except httpx.TransportError as exc:
                attempt = transport_failure(prepared, exc)
            else:
                attempt = read_answer(prepared, response, retries, started)
            if attempt.retry and retries >= prepared.max_retries:
                attempt.retry = False
            log_outcome(self.settings, prepared, attempt, retries, attempt_started)
            if attempt.result is not None:
                return attempt.result
            assert attempt.failure is not None
            if not attempt.retry:
                raise attempt.failure
            self._sleep(retry_delay(retries, attempt.retry_after))
            retries += 1


class AsyncCore:
    """The asynchronous client's transport: an ``httpx.AsyncClient`` (yours or one it owns)."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient()
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def copy(self, **changes: Any) -> AsyncCore:
        twin = AsyncCore(self.settings.changed(**changes), http_client=self._http, sleep=self._sleep)
        twin._owns_client = False
        return twin

    async def close(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Result:
        prepared = prepare(self.settings, method, path, **kwargs)
        started = time.monotonic()
        retries = 0
        while True:
            attempt_started = time.monotonic()
            try:
                response = await self._http.request(
                    prepared.method,
                    prepared.url,
                    params=prepared.params,
                    content=prepared.content,
                    headers=prepared.headers,
                    timeout=prepared.timeout,
                )
            except httpx.TransportError as exc:
                attempt = transport_failure(prepared, exc)
            else:
                attempt = read_answer(prepared, response, retries, started)
            if attempt.retry and retries >= prepared.max_retries:
                attempt.retry = False
            log_outcome(self.settings, prepared, attempt, retries, attempt_started)
            if attempt.result is not None:
                return attempt.result
            assert attempt.failure is not None
            if not attempt.retry:
                raise attempt.failure
            await self._sleep(retry_delay(retries, attempt.retry_after))
            retries += 1


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _parse(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def _is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and body.get("success") is True and "data" in body


def _error_from_response(response: httpx.Response, body: Any) -> AiPhone360Error:
    header_request_id = response.headers.get("x-request-id")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        status = int(error.get("status") or response.status_code)
        return error_class(status)(
            str(error.get("message") or f"HTTP {response.status_code}"),
            code=str(error.get("code") or f"HTTP_{response.status_code}"),
            status=status,
            request_id=error.get("requestId") or header_request_id,
            fields=error.get("fields"),
            headers=response.headers,
            body=body,
        )
    ok = 200 <= response.status_code < 300
    return (AiPhone360Error if ok else error_class(response.status_code))(
        "The API answered with a body that is not the success envelope."
        if ok
        else f"HTTP {response.status_code} {response.reason_phrase}".strip(),
        code="UNEXPECTED_RESPONSE" if ok else f"HTTP_{response.status_code}",
        status=response.status_code,
        request_id=header_request_id,
        headers=response.headers,
        body=body,
    )
