"""Organisations, memberships, suspension and the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .models import AuditEntry, Membership, Organization, Role

if TYPE_CHECKING:
    from developer.models import ApiKey

    Actor = User | ApiKey | None


def audit_record(
    *,
    organization: Organization | None,
    actor: Actor,
    action: str,
    target: Any = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEntry:
    """The one helper every management action calls. `target` is any model with a public id."""
    entry = AuditEntry(organization=organization, action=action, metadata=metadata or {})
    if actor is None:
        entry.actor_type, entry.actor_label = AuditEntry.ActorType.SYSTEM, "system"
    elif hasattr(actor, "key_hash"):
        entry.actor_type = AuditEntry.ActorType.API_KEY
        entry.actor_key_id, entry.actor_label = actor.public_id, f"{actor.name} ({actor.masked})"
    else:
        entry.actor_type, entry.actor_user = AuditEntry.ActorType.USER, actor
        entry.actor_label = actor.get_username()
    if target is not None:
        entry.target_type = target._meta.model_name
        entry.target_id = getattr(target, "public_id", str(target.pk))
        entry.target_label = str(target)[:200]
    entry.save()
    return entry


@transaction.atomic
def organization_create(*, name: str, timezone_name: str = "America/New_York", country: str = "US") -> Organization:
    from billing.models import PlatformAddon, Wallet

    organization = Organization.objects.create(name=name, timezone=timezone_name, country=country)
    Wallet.objects.create(organization=organization)
    PlatformAddon.objects.create(organization=organization)
    return organization


def membership_set(*, organization: Organization, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": Role(role)}
    )
    return membership


def user_get_or_create(*, email: str, password: str | None = None) -> User:
    user, created = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
    if password is not None and (created or not user.check_password(password)):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def organization_suspend(*, organization: Organization, actor: Actor, reason: str) -> Organization:
    from billing.access import invalidate_access_state

    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.suspended_at is None:
        organization.suspended_at = timezone.now()
        organization.suspended_by = actor if actor is not None and not hasattr(actor, "key_hash") else None
        organization.suspension_reason = reason
        organization.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
        audit_record(organization=organization, actor=actor, action="organization.suspended", target=organization,
                     metadata={"reason": reason})
    invalidate_access_state(organization.pk)
    return organization


@transaction.atomic
def organization_reinstate(*, organization: Organization, actor: Actor) -> Organization:
    from billing.access import invalidate_access_state

    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.suspended_at is not None:
        organization.suspended_at, organization.suspended_by, organization.suspension_reason = None, None, ""
        organization.save(update_fields=["suspended_at", "suspended_by", "suspension_reason"])
        audit_record(organization=organization, actor=actor, action="organization.reinstated", target=organization)
    invalidate_access_state(organization.pk)
    return organization
