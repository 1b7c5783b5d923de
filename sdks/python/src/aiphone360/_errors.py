"""Every failure the SDK reports is an ``AiPhone360Error``; each kind has its own subclass.

API errors carry the API's stable ``code`` and HTTP ``status``; transport failures use
``CONNECTION_ERROR`` or ``TIMEOUT`` with status 0. Catch the subclass for the case you handle
and the base class for the rest::

    try:
        client.contacts.create(phone_number="…")
    except ValidationError as err:   # 400: err.fields names each bad field
        ...
    except RateLimitError as err:    # 429: err.retry_after seconds
        ...
    except AiPhone360Error as err:   # everything else; quote err.request_id to support
        ...
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx


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


class AiPhone360Error(Exception):
    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int,
        request_id: str | None = None,
        fields: dict[str, list[str]] | None = None,
        headers: httpx.Headers | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: The API's stable machine code, e.g. ``INSUFFICIENT_SCOPE`` or ``RATE_LIMIT_EXCEEDED``.
        self.code = code
        #: The HTTP status; 0 when no response was received.
        self.status = status
        #: Give this to support (from ``error.requestId`` or the ``X-Request-Id`` header).
        self.request_id = request_id
        #: For ``VALIDATION_ERROR``: each bad field with its messages.
        self.fields = fields
        #: The response headers, when there was a response.
        self.headers = headers
        self.body = body

    def __str__(self) -> str:
        suffix = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.code}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status}, "
            f"request_id={self.request_id!r}, message={self.message!r})"
        )


class APIStatusError(AiPhone360Error):
    """The API answered with an error status (the subclasses below name each kind)."""


class ValidationError(APIStatusError):
    """400 ``VALIDATION_ERROR``: ``fields`` maps each bad field (dotted path) to what is wrong."""


class AuthenticationError(APIStatusError):
    """401 ``API_KEY_REQUIRED`` or ``INVALID_API_KEY``: the key is missing, unknown, revoked or expired."""


class PaymentRequiredError(APIStatusError):
    """402: the access gate's ``code`` says why: ``SUBSCRIPTION_REQUIRED``, ``PLATFORM_ADDON_REQUIRED`` or
    ``INSUFFICIENT_CREDITS`` (live keys, empty wallet)."""


class PermissionDeniedError(APIStatusError):
    """403 ``INSUFFICIENT_SCOPE`` or ``BUSINESS_SUSPENDED``."""


class NotFoundError(APIStatusError):
    """404 ``RESOURCE_NOT_FOUND``: no such route, or no such id in this business."""


class ConflictError(APIStatusError):
    """409 or 422: the request conflicts with the state of things (``IDEMPOTENCY_KEY_IN_USE``,
    ``IDEMPOTENCY_KEY_REUSED``, ``QUIET_HOURS``, ``RECIPIENT_OPTED_OUT``, …)."""


class RateLimitError(APIStatusError):
    """429 ``RATE_LIMIT_EXCEEDED``; ``retry_after`` is the seconds the API asked to wait."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after") if self.headers is not None else None)


class InternalServerError(APIStatusError):
    """5xx: the API (or a gateway in front of it) failed; retried automatically before it is raised."""


class APIConnectionError(AiPhone360Error):
    """No answer: the connection failed (``CONNECTION_ERROR``, status 0)."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout (``TIMEOUT``, status 0)."""


class WebhookVerificationError(AiPhone360Error):
    """A webhook delivery that must not be trusted; answer it with 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="WEBHOOK_SIGNATURE_INVALID", status=400)


def error_class(status: int) -> type[AiPhone360Error]:
    """The subclass for an HTTP error status."""
    if status >= 500:
        return InternalServerError
    return {
        400: ValidationError,
        401: AuthenticationError,
        402: PaymentRequiredError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        422: ConflictError,
        429: RateLimitError,
    }.get(status, APIStatusError)
