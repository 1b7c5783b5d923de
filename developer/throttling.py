from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .exceptions import RateLimitExceeded
from .ratelimit import limiter


class KeyRateThrottle(BaseThrottle):
    """Per-key limit from the organisation's plan, via the shared GCRA limiter."""

    def allow_request(self, request: Request, view: Any) -> bool:
        limit = max(1, request.access_state.rate_limit_per_minute)
        decision = limiter().hit(f"key:{request.auth.id}", limit=limit)
        request._request.rate_limit = decision
        if not decision.allowed:
            raise RateLimitExceeded(decision.retry_after)
        return True
