"""The Twilio-compatible backend against a real local HTTP server that checks what arrives on the wire."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from accounts.models import Organization
from billing.models import UsageRecord
from phone.backends import OutboundSms, SmsBackendError, get_backend
from phone.backends.local import LocalBackend
from phone.backends.twilio import TwilioBackend
from phone.models import BusinessNumber, Message
from tests.conftest import ApiClient

from .conftest import events

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token-for-tests"


class FakeTwilio:
    """Answers like Twilio's Messages API and records every request it receives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply_status = 201
        self.reply_body: dict[str, Any] = {"sid": "SM11111111111111111111111111111111", "status": "queued"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "raw": raw, "form": parse_qs(raw.decode())}
                )
                payload = json.dumps(fake.reply_body).encode()
                self.send_response(fake.reply_status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio(settings: Any) -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    settings.SMS_BACKEND = "phone.backends.twilio.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE = SID, TOKEN, fake.base
    yield fake
    fake.close()


def test_backend_is_chosen_by_setting(settings: Any) -> None:
    assert isinstance(get_backend(), LocalBackend)
    settings.SMS_BACKEND = "phone.backends.twilio.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    assert isinstance(get_backend(), TwilioBackend)


def test_twilio_backend_posts_the_form_with_basic_auth(twilio: FakeTwilio) -> None:
    accepted = TwilioBackend().send(
        OutboundSms(reference="msg_1", from_number="+12125550100", to_number="+14155552671", body="Héllo & welcome 😊")
    )

    assert accepted.provider_message_id == "SM11111111111111111111111111111111"
    [request] = twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request["form"] == {"To": ["+14155552671"], "From": ["+12125550100"], "Body": ["Héllo & welcome 😊"]}


def test_twilio_rejection_is_permanent_with_the_carrier_code(twilio: FakeTwilio) -> None:
    twilio.reply_status = 400
    twilio.reply_body = {
        "code": 21211,
        "message": "The 'To' number +15555550123 is not a valid phone number.",
        "status": 400,
    }
    with pytest.raises(SmsBackendError) as error:
        TwilioBackend().send(OutboundSms("msg_1", "+12125550100", "+15555550123", "Hi"))
    assert error.value.code == "CARRIER_21211" and error.value.permanent is True
    assert "not a valid phone number" in error.value.message


@pytest.mark.parametrize("status", [401, 429, 500, 503])
def test_twilio_auth_rate_and_server_errors_are_transient(twilio: FakeTwilio, status: int) -> None:
    twilio.reply_status, twilio.reply_body = status, {"message": "nope"}
    with pytest.raises(SmsBackendError) as error:
        TwilioBackend().send(OutboundSms("msg_1", "+12125550100", "+14155552671", "Hi"))
    assert error.value.permanent is False


def test_unreachable_carrier_is_transient(settings: Any) -> None:
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    with pytest.raises(SmsBackendError) as error:
        TwilioBackend().send(OutboundSms("msg_1", "+12125550100", "+14155552671", "Hi"))
    assert error.value.code == "CARRIER_UNREACHABLE" and error.value.permanent is False


def test_live_send_through_twilio_end_to_end(
    twilio: FakeTwilio, api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    response = api.post("/messages", {"to": "+14155552671", "body": "Thanks for calling!"})

    assert response.status_code == 201
    assert response.body["data"]["status"] == "sent"
    [request] = twilio.requests
    assert request["form"]["Body"] == ["Thanks for calling!"]
    message = Message.objects.get(public_id=response.body["data"]["id"])
    assert message.provider_message_id == "SM11111111111111111111111111111111"
    assert len(events(org, "sms.sent")) == 1


def test_test_key_never_reaches_twilio(twilio: FakeTwilio, test_api: ApiClient, sms_ready: BusinessNumber) -> None:
    assert test_api.post("/messages", {"to": "+14155552671", "body": "Hi"}).status_code == 201
    assert twilio.requests == []


def test_carrier_rejection_is_422_stored_as_failed_unmetered_and_unannounced(
    twilio: FakeTwilio, api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    twilio.reply_status = 400
    twilio.reply_body = {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}

    response = api.post("/messages", {"to": "+14155552671", "body": "Hi"})

    assert response.status_code == 422
    assert response.body["error"]["code"] == "SMS_REJECTED"
    message = Message.objects.get()
    assert message.status == "failed" and message.error_code == "CARRIER_21610"
    assert message.public_id in response.body["error"]["message"]
    assert not UsageRecord.objects.filter(metric="sms_segments").exists()
    assert events(org, "sms.sent") == []


def test_carrier_outage_is_502_and_not_charged(twilio: FakeTwilio, api: ApiClient, sms_ready: BusinessNumber) -> None:
    twilio.reply_status, twilio.reply_body = 503, {"message": "Service unavailable"}
    response = api.post("/messages", {"to": "+14155552671", "body": "Hi"})
    assert response.status_code == 502
    assert response.body["error"]["code"] == "SMS_CARRIER_UNAVAILABLE"
    assert not UsageRecord.objects.filter(metric="sms_segments").exists()
