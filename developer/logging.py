"""Keeps API keys, signing secrets and Authorization headers out of every log line and stored path."""

import logging
import re

# aip_live_/aip_test_ keys, whsec_ signing secrets, and bearer/basic credentials.
_SECRET_PATTERNS = [
    (re.compile(r"aip_(live|test)_[A-Za-z0-9_\-]{8,}"), r"aip_\1_[REDACTED]"),
    (re.compile(r"whsec_[A-Za-z0-9_\-]{8,}"), "whsec_[REDACTED]"),
    (
        re.compile(r"(?i)(authorization|x-api-key)([\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+(\s+[^\s\"',}]+)?"),
        r"\1\2[REDACTED]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 [REDACTED]"),
]


# A key or signing secret anywhere in a URL path, at any length: the prefix stays, so the reader
# still sees what kind of secret was pasted there, and redacting twice changes nothing.
_SECRET_IN_PATH = re.compile(r"(aip_(?:live|test)_|whsec_)[A-Za-z0-9_\-]+")


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_path(path: str) -> str:
    """The path as stored or shown: `/calls/aip_live_x…` becomes `/calls/aip_live_[REDACTED]`."""
    return _SECRET_IN_PATH.sub(r"\1[REDACTED]", path)


class RedactSecretsFilter(logging.Filter):
    """Rewrites the formatted message so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
