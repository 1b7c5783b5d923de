"""SMS backends, chosen by the SMS_BACKEND setting the way Django chooses an e-mail backend.

- `phone.backends.local.LocalBackend` (default): records the message in process and marks it sent.
- `phone.backends.twilio.TwilioBackend`: Twilio's Messages API (or anything speaking it).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseSmsBackend, OutboundSms, SmsAccepted, SmsBackendError


def get_backend(path: str | None = None) -> BaseSmsBackend:
    return import_string(path or settings.SMS_BACKEND)()


__all__ = ["BaseSmsBackend", "OutboundSms", "SmsAccepted", "SmsBackendError", "get_backend"]
