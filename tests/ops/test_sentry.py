"""The Sentry scrubber: no key, signing secret, Authorization header or message body leaves the process."""

from __future__ import annotations

import json
import secrets
from typing import Any

import sentry_sdk
from sentry_sdk.transport import Transport

from ops.sentry import FILTERED, scrub, scrub_breadcrumb

KEY = "aip_live_" + "k" * 43
SECRET = "whsec_" + "s" * 32


def test_a_django_request_event_is_scrubbed() -> None:
    event: Any = {
        "message": f"lookup failed for {KEY}",
        "request": {
            "url": f"https://api.aiphone360.com/api/public/v1/calls/{KEY}",
            "method": "POST",
            "query_string": f"api_key={KEY}",
            "headers": {
                "Authorization": f"Bearer {KEY}",
                "X-Api-Key": KEY,
                "Cookie": "sessionid=abc",
                "X-AIP-Signature": "t=1,v1=ff",
                "User-Agent": "curl/8",
            },
            "data": {"to": "+15555550123", "body": "Your code is 123456"},
            "cookies": {"sessionid": "abc"},
        },
        "extra": {"endpoint_secret": SECRET, "payload": {"callId": "call_1", "summary": "private"}},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"signature mismatch with {SECRET}",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "send",
                                "vars": {
                                    "body": "Hi Jordan, your appointment is at 3pm",
                                    "secret": SECRET,
                                    "headers": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
                                    "count": 3,
                                },
                            }
                        ]
                    },
                }
            ]
        },
    }
    cleaned: Any = scrub(event, {})
    text = json.dumps(cleaned)
    for leaked in (
        KEY,
        KEY[9:],
        SECRET,
        SECRET[6:],
        "123456",
        "Jordan",
        "sessionid=abc",
        "dXNlcjpwYXNzd29yZA",
        "private",
    ):
        assert leaked not in text, leaked
    request = cleaned["request"]
    assert "data" not in request and "cookies" not in request
    assert request["headers"]["Authorization"] == FILTERED and request["headers"]["X-Api-Key"] == FILTERED
    assert request["headers"]["User-Agent"] == "curl/8"  # what is harmless stays, to be useful
    assert request["url"].endswith("/calls/aip_live_[REDACTED]")
    frame = cleaned["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["vars"]["body"] == FILTERED and frame["vars"]["secret"] == FILTERED and frame["vars"]["count"] == 3
    assert cleaned["exception"]["values"][0]["value"] == "signature mismatch with whsec_[REDACTED]"


def test_headers_as_a_list_of_pairs_and_wsgi_names_are_scrubbed() -> None:
    event: Any = {"request": {"headers": [["authorization", f"Bearer {KEY}"], ["Accept", "*/*"]]}}
    cleaned: Any = scrub(event, {})
    assert cleaned["request"]["headers"] == [["authorization", FILTERED], ["Accept", "*/*"]]
    event = {"request": {"env": {"HTTP_AUTHORIZATION": f"Bearer {KEY}", "REMOTE_ADDR": "203.0.113.9"}}}
    cleaned = scrub(event, {})
    assert cleaned["request"]["env"]["HTTP_AUTHORIZATION"] == FILTERED


def test_breadcrumbs_are_scrubbed() -> None:
    crumb: Any = {"category": "query", "message": f"SELECT … WHERE key = '{KEY}'", "data": {"text": "hello"}}
    cleaned: Any = scrub_breadcrumb(crumb, {})
    assert KEY not in json.dumps(cleaned) and cleaned["data"] == FILTERED


class Captured(Transport):
    def __init__(self) -> None:
        super().__init__(None)
        self.envelopes: list[Any] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope)


def test_an_exception_captured_by_the_sdk_reaches_the_transport_scrubbed() -> None:
    transport = Captured()
    client = sentry_sdk.Client(
        dsn="https://public@sentry.example/1",
        transport=transport,
        before_send=scrub,
        before_breadcrumb=scrub_breadcrumb,
        include_local_variables=True,
        default_integrations=False,
    )

    def deliver(body: str, secret: str) -> None:
        raise RuntimeError(f"receiver refused {secret}")

    # Made at run time (the event's source context shows this file's lines), in a local named like a body.
    body = f"Your code is {secrets.token_hex(8)}"
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        try:
            deliver(body, SECRET)
        except RuntimeError as exc:
            assert sentry_sdk.capture_exception(exc) is not None
    client.flush()
    payload = b"".join(item.payload.get_bytes() for envelope in transport.envelopes for item in envelope.items)
    assert b"RuntimeError" in payload
    assert SECRET.encode() not in payload and body[-16:].encode() not in payload
    assert b"whsec_[REDACTED]" in payload  # the exception's message, kept but redacted


def test_sentry_dsn_in_the_environment_installs_the_scrubber() -> None:
    import os
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import django, sentry_sdk; django.setup(); from ops.sentry import scrub, scrub_breadcrumb; "
        "options = sentry_sdk.get_client().options; "
        "assert options['before_send'] is scrub and options['before_breadcrumb'] is scrub_breadcrumb; "
        "assert options['send_default_pii'] is False and options['max_request_body_size'] == 'never'; print('ok')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SENTRY_DSN": "https://public@sentry.example/1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
