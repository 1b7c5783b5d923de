"""The access gate's view of an organisation, cached so a warm API request makes no query for it.

Every service that changes suspension, subscription, the add-on or whether the wallet can pay
calls `invalidate_access_state`, so a change takes effect on the very next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from accounts.models import Organization
from core import fastcache


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


ACCESS_CACHE_PREFIX = "access:v1:"


def access_cache_key(organization_id: int) -> str:
    return f"{ACCESS_CACHE_PREFIX}{organization_id}"


def load_access_state(organization_id: int) -> AccessState:
    organization = Organization.objects.select_related("subscription__plan", "platform_addon", "wallet").get(
        pk=organization_id
    )
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


def refresh_access_state(organization_id: int) -> AccessState:
    generation = fastcache.generation(access_cache_key(organization_id))
    state = load_access_state(organization_id)
    # The plain admission line lets the authentication script apply the gate and the rate limit
    # in the round trip that reads the key: "<gate open 0/1> <requests per minute> <has credits 0/1>".
    gate_open = not state.suspended and state.subscription_active and state.addon_active
    admission = f"{int(gate_open)} {state.rate_limit_per_minute} {int(state.has_credits)}"
    fastcache.set_with_admission(
        access_cache_key(organization_id),
        state,
        admission,
        settings.ACCESS_STATE_CACHE_SECONDS,
        generation=generation,
    )
    return state


def access_state(organization_id: int) -> AccessState:
    return fastcache.get(access_cache_key(organization_id)) or refresh_access_state(organization_id)


def invalidate_access_state(organization_id: int) -> None:
    """Drop the cached state now and again after commit, so no reader re-caches the old rows."""
    fastcache.forget(access_cache_key(organization_id))


def can_pay(organization_id: int) -> bool:
    """Whether live usage may go ahead now: the wallet is above zero (from the cached gate state).

    Live custom-tool calls and webhook deliveries ask this before doing paid work; test mode never asks.
    A wallet that reaches zero invalidates the cached state, so the answer flips on the next call.
    """
    return access_state(organization_id).has_credits
