"""Every failure the SDK reports is an ``AiPhone360Error``.

API errors carry the API's stable ``code`` and HTTP ``status``; transport failures use
``CONNECTION_ERROR`` or ``TIMEOUT`` with status 0.
"""

from __future__ import annotations

from typing import Any

import httpx


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


class WebhookVerificationError(AiPhone360Error):
    """A webhook delivery that must not be trusted; answer it with 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="WEBHOOK_SIGNATURE_INVALID", status=400)
