"""The access gate and the scope check, in the contract's order (suspension → subscription → add-on → scope)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from billing.access import access_state

from .exceptions import BusinessSuspended, InsufficientScope, PlatformAddonRequired, SubscriptionRequired


class AccessGate(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        state = access_state(request.auth.organization_id)
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
        scope = view.required_scope
        if isinstance(scope, dict):
            scope = scope.get(request.method)
        if scope is not None and scope not in request.auth.scopes:
            raise InsufficientScope(f"This API key lacks the '{scope}' scope this endpoint requires.")
        return True
