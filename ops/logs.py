"""Structured logs: `LOG_FORMAT=json` prints one JSON object per line, carrying the request id, the
organisation and the API key id of the request (or of the task it started) that wrote it.

The context lives in a ContextVar: `LogContextMiddleware` binds the request, whose key and
organisation are read lazily when a line is written (they are known only once DRF has
authenticated). A request's id is sent to the Celery tasks it starts in a message header
(`ops.instrument`), and re-bound while the task runs, so `grep req_…` follows the request into
its webhook deliveries, tool calls and flushes. Secrets never appear: the message is redacted by the
handler's `RedactSecretsFilter` and only ids are added.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from developer.logging import redact


@dataclass
class LogContext:
    request_id: str | None = None
    organization_id: int | None = None
    key_id: str | None = None
    task: str | None = None
    task_id: str | None = None
    request: HttpRequest | None = field(default=None, repr=False)

    def fields(self) -> dict[str, Any]:
        found: dict[str, Any] = {"request_id": self.request_id}
        organization_id, key_id = self.organization_id, self.key_id
        if self.request is not None:
            # Imported here: logging is configured before the apps (and their models) are loaded.
            from developer.public_api.principal import KeyPrincipal

            user = self.request.__dict__.get("user")  # never the lazy session user: no query from a log line
            if isinstance(user, KeyPrincipal):
                organization_id, key_id = user.organization_id, user.public_id
            else:
                membership = getattr(self.request, "membership", None)
                if membership is not None:
                    organization_id = membership.organization_id
        found["organization_id"] = organization_id
        found["key_id"] = key_id
        if self.task:
            found["task"] = self.task
            found["task_id"] = self.task_id
        return {name: value for name, value in found.items() if value is not None}


current: ContextVar[LogContext | None] = ContextVar("aip_log_context", default=None)


def current_request_id() -> str | None:
    context = current.get()
    return context.request_id if context else None


class LogContextMiddleware:
    """After RequestIdMiddleware: binds this request's context for every line logged while it runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current.set(LogContext(request_id=getattr(request, "request_id", None), request=request))
        try:
            return self.get_response(request)
        finally:
            current.reset(token)


class ContextFilter(logging.Filter):
    """Adds the context's fields to each record (as `record.context`), for the JSON formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current.get()
        record.context = context.fields() if context else {}
        return True


_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "context"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the context's ids, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "context", None) or {})
        # `extra=` fields a caller passed, as long as they are plain values.
        for name, value in record.__dict__.items():
            if name not in _RESERVED and not name.startswith("_") and isinstance(value, str | int | float | bool):
                entry.setdefault(name, redact(value) if isinstance(value, str) else value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
