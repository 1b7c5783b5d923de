"""The default backend: nothing leaves the machine. Messages are kept in `outbox` (like Django's
locmem e-mail backend) so the demo and tests can see exactly what would have been sent."""

from __future__ import annotations

import threading

from .base import BaseSmsBackend, OutboundSms, SmsAccepted

outbox: list[OutboundSms] = []
_lock = threading.Lock()


class LocalBackend(BaseSmsBackend):
    def send(self, sms: OutboundSms) -> SmsAccepted:
        with _lock:
            outbox.append(sms)
        return SmsAccepted(provider_message_id=f"local_{sms.reference}")
