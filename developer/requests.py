"""Request types for type checking the public API: what its authentication and gate attach.

DRF types `request.auth` loosely and knows nothing of the attributes our authentication, gate and
throttle set; API code annotates its request with `ApiRequest` so those reads are checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

if TYPE_CHECKING:
    from billing.access import AccessState

    from .authentication import KeyPrincipal
    from .fastcache import KeyRead
    from .ratelimit import Decision


class ApiHttpRequest(HttpRequest):
    """The Django request under an API call. Each attribute is set by one step and may be absent
    before it (readers use `getattr(..., None)`)."""

    request_id: str  # RequestIdMiddleware
    key_read: KeyRead  # ApiKeyAuthentication: what came back with the key in one round trip
    rate_limit: Decision  # the throttle (or the failed-key limiter): the X-RateLimit-* headers
    api_request_counted: bool  # the throttle: billing's counter already took this request


class ApiRequest(Request):
    """A DRF request that passed ApiKeyAuthentication (and, in views, the access gate)."""

    _request: ApiHttpRequest
    auth: KeyPrincipal
    access_state: AccessState  # set by AccessGate
