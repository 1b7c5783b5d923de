"""The demo simulator makes phone data: it uses the phone tests' fixtures and helpers."""

from tests.phone.conftest import (  # noqa: F401
    _empty_outbox,
    _media_root,
    events,
    sms_number,
    sms_ready,
)
