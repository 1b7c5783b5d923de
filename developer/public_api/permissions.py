"""The access gate and the scope check, in the contract's order (suspension → subscription → add-on → scope)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from billing.access import access_cache_key, refresh_access_state
from core import fastcache
from developer.models import ApiKey

from .authentication import LAST_USED_CLAIM_PREFIX, required_scope
from .exceptions import (
    BusinessSuspended,
    InsufficientScope,
    PlatformAddonRequired,
    SubscriptionRequired,
)
from .requests import as_api_request


class AccessGate(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        request = as_api_request(request)
        key = request.auth
        read = getattr(request._request, "key_read", None)
        if read is not None and read.claimed is not None:
            # Redis already returned the gate state and the last-used claim with the key.
            state, first_use_this_minute = read.access_state, read.claimed
        else:
            state, first_use_this_minute = fastcache.get_and_claim(
                access_cache_key(key.organization_id),
                f"{LAST_USED_CLAIM_PREFIX}{key.id}",
                int(settings.API_KEY_LAST_USED_RESOLUTION.total_seconds()),
            )
        if state is None:
            state = refresh_access_state(key.organization_id)
        if first_use_this_minute:
            ApiKey.objects.filter(pk=key.id).update(last_used_at=timezone.now())
        request.access_state = state
        if state.suspended:
            raise BusinessSuspended()
        if not state.subscription_active:
            raise SubscriptionRequired()
        if not state.addon_active:
            raise PlatformAddonRequired()
        return True


class HasScope(BasePermission):
    """Each view declares `required_scope` (per method via a dict when they differ)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        request = as_api_request(request)
        scope = required_scope(view, request.method)
        if scope is not None and scope not in request.auth.scopes:
            raise InsufficientScope(f"This API key lacks the '{scope}' scope this endpoint requires.")
        return True
