"""Request and response types of the public API: what its authentication, gate and views attach.

DRF types `request.auth` loosely and knows nothing of the attributes our authentication, gate and
throttle set; API code annotates its request with `ApiRequest` so those reads are checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response

if TYPE_CHECKING:
    from billing.access import AccessState
    from core.fastcache import KeyRead
    from core.ratelimit import Decision

    from .principal import KeyPrincipal


class ApiHttpRequest(HttpRequest):
    """The Django request under an API call. Each attribute is set by one step and may be absent
    before it (readers use `getattr(..., None)`)."""

    request_id: str  # RequestIdMiddleware
    key_read: KeyRead  # ApiKeyAuthentication: what came back with the key in one round trip
    rate_limit: Decision  # the throttle (or the failed-key limiter): the X-RateLimit-* headers
    api_request_counted: bool  # the throttle: billing's counter already took this request
    api_request_count_hour: int  # ApiKeyAuthentication: the epoch hour the key's round trip counts under
    api_request_counted_field: str  # the throttle: the counter field it took (to give back if not billable)


class ApiRequest(Request):
    """A DRF request that passed ApiKeyAuthentication (and, in views, the access gate)."""

    _request: ApiHttpRequest
    auth: KeyPrincipal
    access_state: AccessState  # set by AccessGate


def as_api_request(request: Request) -> ApiRequest:
    """The same request, typed as an API request: for DRF hooks whose signature says `Request`
    (permissions, throttles, view hooks) but which only ever run behind our authentication."""
    return cast(ApiRequest, request)


class ApiResponse(Response):
    """A public-API response; the envelope renderer, the request log and idempotent replays read
    these (each may be absent: readers use `getattr(..., default)`)."""

    message: str  # the envelope's `message`
    pagination: dict[str, object]  # the envelope's `pagination`, for list views
    enveloped: bool  # already an error envelope: the renderer passes it through
    error_code: str  # the error code, for the request log
