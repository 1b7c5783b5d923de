"""The HTTP core shared by every resource: authentication, the envelope, errors and retries.

Retry policy (the same as the TypeScript SDK's): network errors, timeouts, 429 and 5xx are retried
up to ``max_retries`` times with exponential backoff (each wait drawn between half and all of
0.5 s × 2^n, capped at 8 s); a ``Retry-After`` header, when present, sets the wait instead (one
longer than a minute is not waited out). A 409
``IDEMPOTENCY_KEY_IN_USE`` (the first try of the same POST is still running) is retried too. Every
POST carries an ``Idempotency-Key`` generated once per call and reused on its retries.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ._errors import AiPhone360Error

VERSION = "0.1.0"
DEFAULT_BASE_URL = "https://api.aiphone360.com/api/public/v1"
DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT = 60.0

# First retry waits about this long; each further retry doubles it, up to the cap.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A Retry-After longer than this is not waited out: the error is raised for the caller to decide.
MAX_RETRY_AFTER = 60.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    return seconds if seconds >= 0 else None


def retry_delay(retry: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``retry`` (0-based)."""
    if retry_after is not None:
        # Honour the server's wait; a little extra jitter keeps many clients from returning in lockstep.
        return retry_after + rand() * min(1.0, retry_after * 0.1 + 0.1)
    ceiling: float = min(MAX_RETRY_DELAY, INITIAL_RETRY_DELAY * 2.0**retry)
    return ceiling / 2 + rand() * ceiling / 2


def _retryable(status: int, code: str | None) -> bool:
    return status == 429 or status >= 500 or (status == 409 and code == "IDEMPOTENCY_KEY_IN_USE")


class Core:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        max_retries: int,
        timeout: float,
        http_client: httpx.Client | None,
        default_headers: Mapping[str, str] | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.timeout = timeout
        self._owns_client = http_client is None
        self._http = http_client or httpx.Client()
        self._sleep = sleep
        self._headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"aiphone360-python/{VERSION}",
            **(default_headers or {}),
        }

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One API call: the success envelope (``data``, ``pagination``, ``message``) or an AiPhone360Error."""
        url = self.base_url + path
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        request_headers = {**self._headers, **(headers or {})}
        content: bytes | None = None
        if method in ("POST", "PATCH"):
            request_headers["Content-Type"] = "application/json"
            content = json.dumps({} if body is None else body, ensure_ascii=False).encode("utf-8")
        if method == "POST":
            # Generated once per call, so every retry of this call presents the same key.
            request_headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())

        retries = self.max_retries if max_retries is None else max_retries
        attempt_timeout = self.timeout if timeout is None else timeout
        retry = 0
        while True:
            try:
                response = self._http.request(
                    method, url, params=params, content=content, headers=request_headers, timeout=attempt_timeout
                )
            except httpx.TimeoutException as exc:
                failure = AiPhone360Error(
                    f"No response within {attempt_timeout:g} s ({method} {url}).", code="TIMEOUT", status=0
                )
                failure.__cause__ = exc
                retry_after = None
            except httpx.TransportError as exc:
                failure = AiPhone360Error(
                    f"Could not reach the AI Phone 360 API ({method} {url}): {exc}", code="CONNECTION_ERROR", status=0
                )
                failure.__cause__ = exc
                retry_after = None
            else:
                parsed = _parse(response.content)
                if 200 <= response.status_code < 300 and _is_envelope(parsed):
                    envelope: dict[str, Any] = parsed
                    return envelope
                failure = _error_from_response(response, parsed)
                if not _retryable(response.status_code, failure.code):
                    raise failure
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                    raise failure
            if retry >= retries:
                raise failure
            self._sleep(retry_delay(retry, retry_after))
            retry += 1


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
        return AiPhone360Error(
            str(error.get("message") or f"HTTP {response.status_code}"),
            code=str(error.get("code") or f"HTTP_{response.status_code}"),
            status=int(error.get("status") or response.status_code),
            request_id=error.get("requestId") or header_request_id,
            fields=error.get("fields"),
            headers=response.headers,
            body=body,
        )
    ok = 200 <= response.status_code < 300
    return AiPhone360Error(
        "The API answered with a body that is not the success envelope."
        if ok
        else f"HTTP {response.status_code} {response.reason_phrase}".strip(),
        code="UNEXPECTED_RESPONSE" if ok else f"HTTP_{response.status_code}",
        status=response.status_code,
        request_id=header_request_id,
        headers=response.headers,
        body=body,
    )
