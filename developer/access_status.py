"""Where an organisation stands on its way to the public API, as the dashboard tells it.

The spec's "Getting access" asks for three things in order: an active paid subscription, the
Developer Platform add-on (granted by our team on request during the beta) and a positive credit
balance. `access_step` names the first thing still missing, so the banner on every Settings →
Developer page can say it in plain words with the one next step. Pure: no Django in here.
"""

from __future__ import annotations

from enum import StrEnum

# The subscriptions that qualify for the platform (billing.models.Plan.Code; every paid plan today).
QUALIFYING_PLANS: tuple[str, ...] = ("BASIC", "PRO", "ENTERPRISE")


class Step(StrEnum):
    SUSPENDED = "suspended"
    NO_SUBSCRIPTION = "no_subscription"
    REQUEST_ACCESS = "request_access"
    REQUEST_PENDING = "request_pending"
    REQUEST_DENIED = "request_denied"
    WALLET_EMPTY = "wallet_empty"
    GRANTED = "granted"


def needs_request_lookup(*, suspended: bool, subscription_active: bool, addon_active: bool) -> bool:
    """Whether the step depends on the organisation's latest access request.

    Only then does the banner read the request table, so a page of an organisation that already
    has access costs no query for it.
    """
    return not suspended and subscription_active and not addon_active


def access_step(
    *,
    suspended: bool,
    subscription_active: bool,
    addon_active: bool,
    has_credits: bool,
    latest_request_status: str | None = None,
) -> Step:
    """The first requirement still missing. `latest_request_status` is the newest request's status, if any."""
    if suspended:
        return Step.SUSPENDED
    if not subscription_active:
        return Step.NO_SUBSCRIPTION
    if not addon_active:
        if latest_request_status == "pending":
            return Step.REQUEST_PENDING
        if latest_request_status == "denied":
            return Step.REQUEST_DENIED
        # Never asked, withdrawn, or approved once and revoked since: ask (again).
        return Step.REQUEST_ACCESS
    if not has_credits:
        return Step.WALLET_EMPTY
    return Step.GRANTED


def plan_list(plans: tuple[str, ...] = QUALIFYING_PLANS) -> str:
    """ "BASIC, PRO or ENTERPRISE" — the qualifying plans as a sentence says them."""
    if len(plans) <= 1:
        return "".join(plans)
    return f"{', '.join(plans[:-1])} or {plans[-1]}"
