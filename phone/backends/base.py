from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutboundSms:
    """What a backend needs to hand one text to the carrier; `reference` is our message id."""

    reference: str
    from_number: str
    to_number: str
    body: str


@dataclass(frozen=True)
class SmsAccepted:
    provider_message_id: str


class SmsBackendError(Exception):
    """The carrier did not accept the message.

    `permanent` is True when sending the same message again would fail the same way (the carrier
    rejected it); False when the carrier could not be reached or failed on its side.
    """

    def __init__(self, message: str, *, code: str, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent


class BaseSmsBackend:
    def send(self, sms: OutboundSms) -> SmsAccepted:
        raise NotImplementedError
