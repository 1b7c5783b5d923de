"""The demo simulator makes phone data: it uses the phone tests' fixtures and helpers."""

from tests.phone.conftest import _empty_outbox, _media_root, events, sms_number, sms_ready  # noqa: F401
