"""Log filter that keeps API keys, signing secrets and Authorization headers out of every log line."""

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


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites the formatted message so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
