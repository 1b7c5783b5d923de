"""Security headers on every response: a Content-Security-Policy and a Permissions-Policy.

Django's own middleware already sends `X-Content-Type-Options: nosniff`, `Referrer-Policy` and
`X-Frame-Options: DENY` (settings `SECURE_CONTENT_TYPE_NOSNIFF`, `SECURE_REFERRER_POLICY`,
`X_FRAME_OPTIONS`). Django 5.2 has no CSP (6.0 has), so this middleware adds one: every script and
style is a static file served from this origin, so the policy allows no inline script and no inline
style. A view whose page needs more (Redoc) decorates itself with `content_security_policy(...)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Directives = Mapping[str, Sequence[str]]

# HTML pages: this origin only, no inline script or style, no plugins, never framed, and forms and
# <base> cannot point elsewhere.
PAGE_POLICY: Directives = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# Everything else (API JSON, static files, downloads): nothing may run or load if a browser ever
# renders one as a document.
RESOURCE_POLICY: Directives = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}

# Powerful features the dashboard never uses, refused to the page and to anything it might embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

CSP_HEADER = "Content-Security-Policy"


def policy_header(directives: Directives) -> str:
    return "; ".join(" ".join((name, *sources)) for name, sources in directives.items())


def extend_policy(base: Directives, extra: Directives) -> dict[str, list[str]]:
    """`base` with the sources of `extra` added, directive by directive (new directives at the end)."""
    merged = {name: list(sources) for name, sources in base.items()}
    for name, sources in extra.items():
        merged.setdefault(name, [])
        merged[name] += [source for source in sources if source not in merged[name]]
    return merged


View = TypeVar("View", bound=Callable[..., HttpResponse])


def content_security_policy(extra: Directives) -> Callable[[View], View]:
    """View decorator: the page policy plus the sources in `extra`, for a page that needs them."""
    header = policy_header(extend_policy(PAGE_POLICY, extra))

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> HttpResponse:
            response = view(*args, **kwargs)
            response[CSP_HEADER] = header
            return response

        return wrapped  # type: ignore[return-value]

    return decorator


def is_html(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").lower().startswith("text/html")


def _is_debug_error_page(response: HttpResponse) -> bool:
    """With DEBUG on, Django 5.2's technical 404 and 500 pages work only with inline script and style."""
    return settings.DEBUG and response.status_code in (404, 500) and is_html(response)


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy (unless the view set its own) and the Permissions-Policy."""

    page_policy = policy_header(PAGE_POLICY)
    resource_policy = policy_header(RESOURCE_POLICY)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response and not _is_debug_error_page(response):
            response[CSP_HEADER] = self.page_policy if is_html(response) else self.resource_policy
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
