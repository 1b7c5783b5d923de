"""Twilio's Programmable Messaging API, or any service that speaks it.

POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded To/From/Body,
HTTP basic auth with the account SID and auth token. A 201 carries the message `sid`; an error
carries Twilio's numeric `code` and a `message`.
"""

from __future__ import annotations

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from .base import BaseSmsBackend, OutboundSms, SmsAccepted, SmsBackendError

TIMEOUT_SECONDS = 10.0


class TwilioBackend(BaseSmsBackend):
    def __init__(self) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.base_url = settings.TWILIO_API_BASE.rstrip("/")
        if not self.account_sid or not self.auth_token:
            raise ImproperlyConfigured("TwilioBackend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")

    def send(self, sms: OutboundSms) -> SmsAccepted:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        data = {"To": sms.to_number, "From": sms.from_number, "Body": sms.body}
        if settings.SMS_WEBHOOK_BASE_URL:
            # Delivery reports come back to phone.views.sms_status_webhook, signed with the same token.
            data["StatusCallback"] = settings.SMS_WEBHOOK_BASE_URL.rstrip("/") + reverse("phone:sms-status")
        try:
            response = httpx.post(
                url,
                data=data,
                auth=(self.account_sid, self.auth_token),
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise SmsBackendError(
                f"The SMS carrier could not be reached ({type(exc).__name__}).",
                code="CARRIER_UNREACHABLE",
                permanent=False,
            ) from exc

        payload = _json(response)
        if response.status_code in (200, 201) and isinstance(payload.get("sid"), str):
            return SmsAccepted(provider_message_id=payload["sid"])
        detail = str(payload.get("message") or response.reason_phrase or "no detail")[:300]
        carrier_code = payload.get("code")
        code = f"CARRIER_{carrier_code}" if isinstance(carrier_code, int) else f"CARRIER_HTTP_{response.status_code}"
        # 4xx: Twilio rejected this message (bad number, unverified sender...); resending will not help.
        # Auth and rate errors (401/403/429) and 5xx are our or their problem, not the message's.
        permanent = 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429)
        raise SmsBackendError(f"The SMS carrier refused the message: {detail}", code=code, permanent=permanent)


def _json(response: httpx.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
