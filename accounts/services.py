"""Memberships, users and the audit trail (creating and suspending an organisation need billing: billing.services)."""

from __future__ import annotations

from typing import Any, Protocol

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from core.modes import Mode

from .models import AuditEntry, Membership, Organization, Role


class KeyActor(Protocol):
    """An API key acting (developer.models.ApiKey): accounts records it without importing developer."""

    @property
    def pk(self) -> int: ...
    @property
    def key_hash(self) -> str: ...
    @property
    def public_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def masked(self) -> str: ...


Actor = User | KeyActor | None


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
    elif isinstance(actor, User):
        entry.actor_type, entry.actor_user = AuditEntry.ActorType.USER, actor
        entry.actor_label = actor.get_username()
    else:
        entry.actor_type = AuditEntry.ActorType.API_KEY
        entry.actor_key_id, entry.actor_label = actor.public_id, f"{actor.name} ({actor.masked})"
    if target is not None:
        entry.target_type = target._meta.model_name
        entry.target_id = getattr(target, "public_id", str(target.pk))
        entry.target_label = str(target)[:200]
    entry.save()
    return entry


def membership_set(*, organization: Organization, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": Role(role)}
    )
    return membership


def membership_viewing_mode_set(*, membership: Membership, mode: str) -> Membership:
    """Turn the dashboard's "Viewing test data" switch for this person and organisation.

    A view preference, not a change to the business, so it is not audited."""
    if mode not in Mode.values:
        raise ValidationError({"mode": [f"Must be one of: {', '.join(Mode.values)}."]})
    Membership.objects.filter(pk=membership.pk).update(viewing_mode=mode)
    membership.viewing_mode = mode
    return membership


def user_get_or_create(*, email: str, password: str | None = None) -> User:
    User = get_user_model()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if password is not None and (created or not user.check_password(password)):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def organization_two_factor_set(*, organization: Organization, required: bool, actor: Actor) -> Organization:
    """Require (or stop requiring) an authenticator app of every member before the developer dashboard."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        if organization.require_two_factor == required:
            return organization
        organization.require_two_factor = required
        organization.save(update_fields=["require_two_factor"])
        audit_record(
            organization=organization,
            actor=actor,
            action="organization.two_factor_required" if required else "organization.two_factor_optional",
            target=organization,
        )
    return organization


def membership_role_change(*, membership: Membership, role: str, actor: Actor) -> Membership:
    """Give a member another role. The organisation always keeps at least one owner."""
    try:
        new_role = Role(role)
    except ValueError:
        raise ValidationError({"role": ["Choose owner, admin or viewer."]}) from None
    with transaction.atomic():
        # Lock the organisation's memberships so two demotions cannot both leave it without an owner.
        members = list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
        membership = next(m for m in members if m.pk == membership.pk)
        old_role = membership.role
        if old_role == new_role:
            return membership
        owners = [m for m in members if m.role == Role.OWNER]
        if old_role == Role.OWNER and len(owners) == 1:
            raise ValidationError({"role": ["The organisation needs another owner first."]})
        membership.role = new_role
        membership.save(update_fields=["role"])
        audit_record(
            organization=membership.organization,
            actor=actor,
            action="membership.role_changed",
            target=membership.user,
            metadata={"from": old_role, "to": str(new_role), "member": membership.user.get_username()},
        )
    return membership
