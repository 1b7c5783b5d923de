"""The ``aiphone360`` command: ``aiphone360 listen --forward-to http://localhost:3000/webhooks``.

``listen`` follows the event log (``GET /events?after=…&wait=25``, a long poll) and POSTs each new event
to a local URL signed exactly as a real delivery is (``X-AIP-Signature`` and the ``X-AIP-*`` headers),
with a ``whsec_`` secret made for this run and printed at start, as the Stripe CLI does: point your
receiver's secret at it and develop without a public HTTPS URL. Test keys only, unless ``--live``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import string
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import httpx

from ._client import AiPhone360
from ._errors import AiPhone360Error, NotFoundError
from ._version import __version__
from ._webhooks import SIGNATURE_HEADER, sign_webhook
from .types import WebhookEvent

USER_AGENT = "AIPhone360-Webhooks/1.0"  # what a real delivery sends
FORWARD_TIMEOUT = 15.0  # a real delivery's limit
MAX_WAIT = 25
_ALPHABET = string.ascii_letters + string.digits


def _random_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def new_secret() -> str:
    """A signing secret of the shape the platform gives endpoints: ``whsec_`` and 32 random bytes."""
    return "whsec_" + secrets.token_urlsafe(32)


def delivery_headers(event: dict[str, Any], body: bytes, secret: str, *, now: int | None = None) -> dict[str, str]:
    """The headers of a real delivery's first attempt; the delivery id is made up for this forward."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign_webhook(body, secret, now),
        "X-AIP-Event-Id": str(event["id"]),
        "X-AIP-Event-Type": str(event["type"]),
        "X-AIP-Delivery-Id": _random_id("del"),
        "X-AIP-Attempt": "1",
        "X-AIP-Mode": "live" if event.get("livemode") else "test",
    }


class Listener:
    """Reads the event log after the newest event at start and forwards each new one to ``forward_to``."""

    def __init__(
        self,
        client: AiPhone360,
        *,
        forward_to: str,
        secret: str,
        events: Sequence[str] = (),
        wait: int = MAX_WAIT,
        out: TextIO = sys.stdout,
        http: httpx.Client | None = None,
    ) -> None:
        self.client = client
        self.forward_to = forward_to
        self.secret = secret
        self.types = set(events) - {"*"}
        self.wait = wait
        self.out = out
        self.http = http or httpx.Client(timeout=FORWARD_TIMEOUT, follow_redirects=False)
        self.anchor: str | None = None
        self.forwarded = 0

    def start(self) -> None:
        """Remember where the log ends now: only events after it are forwarded."""
        newest = self.client.events.list(limit=1).data
        self.anchor = newest[0].id if newest else None

    def poll(self) -> list[WebhookEvent]:
        """One read of the log: the events after the anchor (waiting up to ``wait`` s for one), oldest first."""
        if self.anchor is None:
            # The log was empty at start: everything in it now is new.
            page = self.client.events.list(limit=100)
            if not page.data:
                time.sleep(1)
            return list(reversed(page.data))
        try:
            page = self.client.events.list(
                after=self.anchor, wait=self.wait, limit=100, options={"timeout": self.wait + 15}
            )
        except NotFoundError:
            # The anchor left the 30-day log (the laptop slept for a month): start again from the newest.
            self.start()
            return []
        if not page.data and page.last_response.headers.get("Retry-After"):
            time.sleep(1)  # the server had no long-poll slot free; it asked us to come back
        return list(page.data)

    def forward(self, event: WebhookEvent) -> int | None:
        """POST one event, signed; print its type, id and the local answer; return the status (None: no answer)."""
        self.anchor = event.id
        if self.types and event.type not in self.types:
            return None
        payload = event.to_dict()
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            answer = self.http.post(self.forward_to, content=body, headers=delivery_headers(payload, body, self.secret))
        except httpx.HTTPError as exc:
            print(f"{stamp}  --> {event.type} [{event.id}]  <-- error: {exc!s} POST {self.forward_to}", file=self.out)
            status = None
        else:
            status = answer.status_code
            print(f"{stamp}  --> {event.type} [{event.id}]  <-- [{status}] POST {self.forward_to}", file=self.out)
        self.out.flush()
        self.forwarded += 1
        return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiphone360", description="AI Phone 360 command-line tools.")
    parser.add_argument("--version", action="version", version=f"aiphone360 {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    listen = commands.add_parser(
        "listen",
        help="Forward new events to a local URL, signed like real deliveries.",
        description="Follow the event log and POST each new event to --forward-to, signed with a whsec_ "
        "secret made for this run (printed at start). Test keys only unless --live.",
    )
    listen.add_argument("--forward-to", required=True, help="The local URL, e.g. http://localhost:3000/webhooks.")
    listen.add_argument("--api-key", help="An aip_test_ key with manage:webhooks (default: $AIP_API_KEY or $AIP_KEY).")
    listen.add_argument("--base-url", help="The API's base URL (default: $AIP_BASE_URL or the production API).")
    listen.add_argument("--live", action="store_true", help="Allow an aip_live_ key (live events).")
    listen.add_argument("--events", default="*", help="Comma-separated event types to forward (default: all).")
    listen.add_argument("--max-events", type=int, default=0, help="Stop after forwarding this many (0: never).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    key = args.api_key or os.environ.get("AIP_API_KEY") or os.environ.get("AIP_KEY")
    if not key:
        print("error: give --api-key or set AIP_API_KEY (an aip_test_ key with manage:webhooks).", file=sys.stderr)
        return 2
    if key.startswith("aip_live_") and not args.live:
        print(
            "error: this is a live key (aip_live_): live events would be forwarded. Pass --live to do that "
            "on purpose, or use an aip_test_ key.",
            file=sys.stderr,
        )
        return 2
    if not args.forward_to.startswith(("http://", "https://")):
        print("error: --forward-to must be an http:// or https:// URL.", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    secret = new_secret()
    try:
        with AiPhone360(api_key=key, base_url=args.base_url) as client:
            listener = Listener(client, forward_to=args.forward_to, secret=secret, events=args.events.split(","))
            listener.start()
            mode = "live" if key.startswith("aip_live_") else "test"
            print(f"Ready! Your webhook signing secret is {secret} (^C to quit)", flush=True)
            print(f"Forwarding {mode} events to {args.forward_to}", flush=True)
            while not args.max_events or listener.forwarded < args.max_events:
                for event in listener.poll():
                    listener.forward(event)
                    if args.max_events and listener.forwarded >= args.max_events:
                        break
    except KeyboardInterrupt:
        return 0
    except (AiPhone360Error, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
