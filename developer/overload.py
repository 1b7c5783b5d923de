"""The 503 the web worker sends when its process is full (config/gunicorn_worker.py), without Django.

The API gets its envelope with `SERVICE_UNAVAILABLE` and `Retry-After`, so SDKs back off and retry;
the dashboard gets a short page. Health and metrics probes are always served, so a load balancer
does not take a busy but healthy process out of rotation. The bytes are built here, from the same
envelope and template Django uses, so a refusal costs microseconds on the worker's accept path.
"""

from __future__ import annotations

import json
from functools import cache

from django.template.loader import render_to_string

from .public_api.exceptions import error_body
from .public_api.middleware import new_request_id
from .public_api.request_log import API_PATH_PREFIX

RETRY_AFTER_SECONDS = 1
ALWAYS_SERVED = (b"/healthz", b"/readyz", b"/metrics")
MESSAGE = "The service is busy. Retry after the number of seconds in Retry-After."


@cache
def _page() -> bytes:
    return render_to_string("503.html").encode()


def refusal(path: bytes, *, keep_alive: bool = False) -> bytes:
    """The whole HTTP/1.1 response refusing a request for `path` (the request line's target); with
    `keep_alive` the connection stays open for the client's next request (the worker decides)."""
    request_id = new_request_id()
    if path.startswith(API_PATH_PREFIX.encode()):
        body = json.dumps(
            error_body(message=MESSAGE, code="SERVICE_UNAVAILABLE", status_code=503, request_id=request_id),
            separators=(",", ":"),
        ).encode()
        content_type = "application/json"
    else:
        body, content_type = _page(), "text/html; charset=utf-8"
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {RETRY_AFTER_SECONDS}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n"
        f"X-Request-Id: {request_id}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body
