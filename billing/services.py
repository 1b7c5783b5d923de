"""Subscriptions, the Developer Platform add-on, and creating and suspending an organisation (the wallet: wallet.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_record

from .access import invalidate_access_state
from .metering import plan_change_apply
from .models import Plan, PlatformAddon, Subscription, Wallet

if TYPE_CHECKING:
    from accounts.services import Actor

logger = logging.getLogger(__name__)


@transaction.atomic
def subscription_set(
    *, organization: Organization, plan_code: str, actor: Actor, status: str = Subscription.Status.ACTIVE
) -> Subscription:
    plan = Plan.objects.get(code=plan_code)
    current = Subscription.objects.select_for_update().filter(organization=organization).first()
    if current is not None and current.plan_id != plan.pk:
        # No retroactive charge: this month's usage keeps its terms, the new plan applies from now.
        plan_change_apply(organization_id=organization.pk, new_plan=plan)
    subscription, _ = Subscription.objects.update_or_create(
        organization=organization, defaults={"plan": plan, "status": status}
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="subscription.updated",
        target=subscription,
        metadata={"plan": plan.code, "status": status},
    )
    invalidate_access_state(organization.pk)
    return subscription


@transaction.atomic
def plan_save(*, plan: Plan, changed: list[str], actor: Actor) -> Plan:
    """Create or change a plan (staff, in admin). A charge copies the unit price it was made at, so
    new rates apply from now on and never re-price the past; every subscriber's cached gate state is
    dropped so a new rate limit answers on the next request."""
    creating = plan.pk is None
    plan.full_clean()
    plan.save()
    audit_record(
        organization=None,
        actor=actor,
        action=f"plan.{'created' if creating else 'updated'}",
        target=plan,
        metadata={"code": plan.code, "fields": sorted(changed)},
    )
    for organization_id in Subscription.objects.filter(plan=plan).values_list("organization_id", flat=True):
        invalidate_access_state(organization_id)
    return plan


@transaction.atomic
def addon_grant(*, organization: Organization, actor: Actor) -> PlatformAddon:
    """Grant the Developer Platform add-on. Idempotent: granting an active add-on changes nothing."""
    addon, _ = PlatformAddon.objects.select_for_update().get_or_create(organization=organization)
    if not addon.is_active:
        addon.granted_at = timezone.now()
        addon.granted_by = actor if actor is not None and not hasattr(actor, "key_hash") else None
        addon.revoked_at = addon.revoked_by = None
        addon.save()
        audit_record(organization=organization, actor=actor, action="addon.granted", target=organization)
    invalidate_access_state(organization.pk)
    return addon


@transaction.atomic
def addon_revoke(*, organization: Organization, actor: Actor) -> PlatformAddon:
    addon, _ = PlatformAddon.objects.select_for_update().get_or_create(organization=organization)
    if addon.is_active:
        addon.revoked_at = timezone.now()
        addon.revoked_by = actor if actor is not None and not hasattr(actor, "key_hash") else None
        addon.save()
        audit_record(organization=organization, actor=actor, action="addon.revoked", target=organization)
    invalidate_access_state(organization.pk)
    return addon


# --- organisations: creating one opens its billing rows; suspending one flips the access gate ----------


@transaction.atomic
def organization_create(*, name: str, timezone_name: str = "America/New_York", country: str = "US") -> Organization:
    organization = Organization.objects.create(name=name, timezone=timezone_name, country=country)
    Wallet.objects.create(organization=organization)
    PlatformAddon.objects.create(organization=organization)
    return organization


@transaction.atomic
def organization_suspend(*, organization: Organization, actor: Actor, reason: str) -> Organization:
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.suspended_at is None:
        organization.suspended_at = timezone.now()
        organization.suspended_by = actor if actor is not None and not hasattr(actor, "key_hash") else None
        organization.suspension_reason = reason
        organization.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
        audit_record(
            organization=organization,
            actor=actor,
            action="organization.suspended",
            target=organization,
            metadata={"reason": reason},
        )
    invalidate_access_state(organization.pk)
    return organization


@transaction.atomic
def organization_reinstate(*, organization: Organization, actor: Actor) -> Organization:
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.suspended_at is not None:
        organization.suspended_at, organization.suspended_by, organization.suspension_reason = None, None, ""
        organization.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
        audit_record(organization=organization, actor=actor, action="organization.reinstated", target=organization)
    invalidate_access_state(organization.pk)
    return organization
