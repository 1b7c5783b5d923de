"""Gunicorn's logger with secrets redacted: the access log never shows a key pasted into a URL.

The Procfile passes `--logger-class config.gunicorn_logging.RedactingLogger`. Gunicorn's access log
does not go through Django's LOGGING, so the redaction that every other log line gets is applied
here, to each atom of the access-log format (path, request line, query, headers) and to the error log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from developer.logging import RedactSecretsFilter, redact, redact_path


def _clean(value: str) -> str:
    cleaned = redact(redact_path(value))
    if "%" in value:
        # The raw request line is still percent-encoded: `aip%5Flive%5F…` is a key all the same.
        unquoted = unquote(value)
        redacted = redact(redact_path(unquoted))
        if redacted != unquoted:
            return redacted
    return cleaned


class RedactingLogger(Logger):
    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactSecretsFilter) for f in log.filters):
                log.addFilter(RedactSecretsFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: _clean(value) if isinstance(value, str) else value for name, value in atoms.items()}
