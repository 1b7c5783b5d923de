"""The outermost middleware: health probes and `/metrics`, and the count and latency of every other request.

Probes and the scrape are answered before anything else runs: no host validation (a load balancer
asks for the instance's IP), no HTTPS redirect (probes speak plain HTTP inside the network), no
session, no request log; they are not counted either, so they do not swamp the request figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.metrics import API_REFUSALS, HTTP_LATENCY, HTTP_REQUESTS
from developer.public_api.principal import KeyPrincipal

from . import health
from .metrics import metrics_view

ROUTES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": health.healthz,
    "/readyz": health.readyz,
    "/metrics": metrics_view,
}

# The refusals before a view runs (README, "Public API conventions"): a bounded set of label values.
REFUSAL_CODES = frozenset(
    {
        "API_KEY_REQUIRED",
        "INVALID_API_KEY",
        "BUSINESS_SUSPENDED",
        "SUBSCRIPTION_REQUIRED",
        "PLATFORM_ADDON_REQUIRED",
        "INSUFFICIENT_SCOPE",
        "RATE_LIMIT_EXCEEDED",
        "INSUFFICIENT_CREDITS",
    }
)
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (`/api/public/v1/calls/<str:call_id>`), never the path itself,
    so ids do not multiply the series."""
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None and match.route else UNMATCHED


def mode_of(request: HttpRequest) -> str:
    # DRF sets the key's principal on the Django request once it authenticates; not a lazy user.
    user = request.__dict__.get("user")
    return user.mode if isinstance(user, KeyPrincipal) else ""


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = ROUTES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        started = time.perf_counter()
        response = self.get_response(request)
        route, mode = route_of(request), mode_of(request)
        method = request.method if request.method in METHODS else "OTHER"  # a client chooses it: bound the series
        HTTP_REQUESTS.labels(route=route, method=method, status=str(response.status_code), mode=mode).inc()
        HTTP_LATENCY.labels(route=route, mode=mode).observe(time.perf_counter() - started)
        code = getattr(response, "error_code", None)
        if code in REFUSAL_CODES:
            API_REFUSALS.labels(code=code).inc()
        return response
