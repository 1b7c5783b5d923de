from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.quota import encode_counter_field
from core.ratelimit import limiter

from .apicount import api_request_counter
from .exceptions import RateLimitExceeded
from .requests import as_api_request


class KeyRateThrottle(BaseThrottle):
    """Per-key limit from the organisation's plan, via the shared GCRA limiter."""

    def allow_request(self, request: Request, view: Any) -> bool:
        request = as_api_request(request)
        read = getattr(request._request, "key_read", None)
        if read is not None and read.admission is not None:
            # The key's own round trip already took this step (same checks, same script).
            decision = read.admission.decision
            request._request.rate_limit = decision
            request._request.api_request_counted = read.admission.counted
            if read.admission.counted:
                request._request.api_request_counted_field = encode_counter_field(
                    epoch_hour=request._request.api_request_count_hour,
                    organization_id=request.auth.organization_id,
                    api_key_id=request.auth.id,
                    mode=request.auth.mode,
                )
            if not decision.allowed:
                raise RateLimitExceeded(decision.retry_after)
            return True
        limit = max(1, request.access_state.rate_limit_per_minute)
        # With Redis, billing's request counter rides in the limiter's round trip (a request refused
        # for credits right after this is not billed, so it is not counted).
        proceeds = not (request.auth.is_live and not request.access_state.has_credits)
        count_in = api_request_counter(request.auth) if proceeds else None
        decision = limiter().hit(f"key:{request.auth.id}", limit=limit, count_in=count_in)
        request._request.rate_limit = decision
        request._request.api_request_counted = count_in is not None and decision.allowed
        if count_in is not None and decision.allowed:
            request._request.api_request_counted_field = count_in[1]
        if not decision.allowed:
            raise RateLimitExceeded(decision.retry_after)
        return True
