"""The access gate's view of an organisation, cached so a warm API request makes no query for it.

Every service that changes suspension, subscription, the add-on or whether the wallet can pay
calls `invalidate_access_state`, so a change takes effect on the very next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.models import Organization


@dataclass(frozen=True)
class AccessState:
    organization_id: int
    business_id: str
    suspended: bool
    subscription_active: bool
    plan_code: str | None
    rate_limit_per_minute: int
    addon_active: bool
    has_credits: bool


def _cache_key(organization_id: int) -> str:
    return f"access:v1:{organization_id}"


def load_access_state(organization_id: int) -> AccessState:
    organization = Organization.objects.select_related(
        "subscription__plan", "platform_addon", "wallet"
    ).get(pk=organization_id)
    subscription = getattr(organization, "subscription", None)
    addon = getattr(organization, "platform_addon", None)
    wallet = getattr(organization, "wallet", None)
    return AccessState(
        organization_id=organization.pk,
        business_id=organization.public_id,
        suspended=organization.is_suspended,
        subscription_active=bool(subscription and subscription.is_active),
        plan_code=subscription.plan.code if subscription else None,
        rate_limit_per_minute=subscription.plan.rate_limit_per_minute if subscription else 0,
        addon_active=bool(addon and addon.is_active),
        has_credits=bool(wallet and wallet.balance > 0),
    )


def access_state(organization_id: int) -> AccessState:
    key = _cache_key(organization_id)
    state = cache.get(key)
    if state is None:
        state = load_access_state(organization_id)
        cache.set(key, state, settings.ACCESS_STATE_CACHE_SECONDS)
    return state


def invalidate_access_state(organization_id: int) -> None:
    """Drop the cached state now and again after commit, so no reader re-caches the old rows."""
    key = _cache_key(organization_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
