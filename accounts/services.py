"""Memberships, users and the audit trail (creating and suspending an organisation need billing: billing.services)."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.modes import Mode
from core.prune import PRUNE_BATCH, delete_in_batches

from .models import AuditEntry, Invitation, Membership, Organization, Role

logger = logging.getLogger(__name__)

# How long an invitation link works after it was (re)sent.
INVITATION_MAX_AGE = timedelta(days=7)
_INVITATION_SALT = "accounts.invitation"


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


def audit_prune(*, now: datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete audit entries older than AUDIT_RETENTION_DAYS (the audit page says how long they are kept)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = delete_in_batches(AuditEntry.objects.filter(created_at__lt=cutoff), batch=batch)
    if deleted:
        logger.info("pruned %d audit entries older than %d days", deleted, settings.AUDIT_RETENTION_DAYS)
    return deleted


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
        _check_owner_rights(membership.organization, actor, old_role, new_role)
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
        _mail_after_commit(
            subject=f"Your role in {membership.organization.name} is now {new_role.label}",
            template="accounts/email/role_changed.txt",
            context={"organization": membership.organization, "role": new_role.label, "old_role": Role(old_role).label},
            to=[membership.user.email],
        )
    return membership


# --- members and invitations ------------------------------------------------------------------------------


def _check_owner_rights(organization: Organization, actor: Actor, *roles: str) -> None:
    """Owners and admins manage members, but only an owner grants, changes or removes the owner role.
    A system actor (admin site, command line) may do anything."""
    if not isinstance(actor, User):
        return
    acting = Membership.objects.filter(organization=organization, user=actor).first()
    if acting is None or not acting.can_manage:
        raise PermissionDenied("Only owners and admins manage members.")
    if Role.OWNER in roles and acting.role != Role.OWNER:
        raise PermissionDenied("Only an owner can grant, change or remove the owner role.")


def _mail_after_commit(*, subject: str, template: str, context: dict[str, Any], to: list[str]) -> None:
    """Sent once the change is committed; a failing mail server is logged, never turned into an error for the
    person who clicked (the change is made and audited either way)."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    body = render_to_string(template, {"site_url": settings.SITE_URL, **context})

    def send() -> None:
        try:
            send_mail(subject, body, None, recipients)
        except Exception:
            logger.exception("Could not send %r to %s", subject, ", ".join(recipients))

    transaction.on_commit(send)


def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Take a member out of the organisation. The organisation always keeps at least one owner."""
    with transaction.atomic():
        members = list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
        membership = next(m for m in members if m.pk == membership.pk)
        _check_owner_rights(membership.organization, actor, membership.role)
        if membership.role == Role.OWNER and sum(m.role == Role.OWNER for m in members) == 1:
            raise ValidationError({"member": ["The last owner cannot be removed: make someone else an owner first."]})
        user = membership.user
        membership.delete()
        audit_record(
            organization=membership.organization,
            actor=actor,
            action="membership.removed",
            target=user,
            metadata={"member": user.get_username(), "role": membership.role},
        )
        _mail_after_commit(
            subject=f"You were removed from {membership.organization.name} on AI Phone 360",
            template="accounts/email/member_removed.txt",
            context={"organization": membership.organization},
            to=[user.email],
        )


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"inv": invitation.public_id, "n": invitation.nonce}, salt=_INVITATION_SALT)


def invitation_for_token(token: str) -> Invitation:
    """The pending invitation a link names; ValidationError for a bad, old, superseded or used link."""
    try:
        data = signing.loads(token, salt=_INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("This invitation link has expired. Ask for a new one.") from None
    except signing.BadSignature:
        raise ValidationError("This invitation link is not valid.") from None
    invitation = (
        Invitation.objects.select_related("organization").filter(public_id=data.get("inv"), nonce=data.get("n")).first()
    )
    if invitation is None:
        raise ValidationError("This invitation link was replaced by a newer one or withdrawn.")
    if invitation.revoked_at is not None:
        raise ValidationError("This invitation was withdrawn.")
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was already accepted.")
    return invitation


def _send_invitation(invitation: Invitation) -> None:
    accept_path = reverse("developer:invitation_accept", args=[invitation_token(invitation)])
    _mail_after_commit(
        subject=f"You are invited to {invitation.organization.name} on AI Phone 360",
        template="accounts/email/invitation.txt",
        context={
            "invitation": invitation,
            "role": Role(invitation.role).label,
            "inviter": invitation.invited_by.email if invitation.invited_by else "",
            "accept_url": f"{settings.SITE_URL}{accept_path}",
            "days": INVITATION_MAX_AGE.days,
        },
        to=[invitation.email],
    )


def invitation_create(*, organization: Organization, email: object, role: object, actor: Actor) -> Invitation:
    """Invite someone by e-mail with a role; they get a link to join (as a new or an existing user)."""
    errors: dict[str, list[str]] = {}
    address = email.strip().lower() if isinstance(email, str) else ""
    try:
        validate_email(address)
    except ValidationError:
        errors["email"] = ["Enter the e-mail address of the person to invite, like name@example.com."]
    if role not in Role.values:
        errors["role"] = ["Choose owner, admin or viewer."]
    if not errors and Membership.objects.filter(organization=organization, user__email__iexact=address).exists():
        errors["email"] = [f"{address} is already a member of {organization.name}."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        _check_owner_rights(organization, actor, str(role))
        if Invitation.objects.filter(
            organization=organization, email=address, accepted_at=None, revoked_at=None
        ).exists():
            raise ValidationError({"email": [f"{address} is already invited: resend that invitation instead."]})
        invitation = Invitation.objects.create(
            organization=organization,
            email=address,
            role=str(role),
            invited_by=actor if isinstance(actor, User) else None,
            nonce=secrets.token_urlsafe(16),
            sent_at=timezone.now(),
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="invitation.created",
            target=invitation,
            metadata={"email": address, "role": str(role)},
        )
        _send_invitation(invitation)
    return invitation


def invitation_resend(*, invitation: Invitation, actor: Actor) -> Invitation:
    """Send a fresh link (the previous one stops working) and restart its validity."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        if not invitation.is_pending:
            raise ValidationError("Only a pending invitation can be resent.")
        _check_owner_rights(invitation.organization, actor, invitation.role)
        invitation.nonce = secrets.token_urlsafe(16)
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["nonce", "sent_at"])
        audit_record(
            organization=invitation.organization,
            actor=actor,
            action="invitation.resent",
            target=invitation,
            metadata={"email": invitation.email},
        )
        _send_invitation(invitation)
    return invitation


def invitation_revoke(*, invitation: Invitation, actor: Actor) -> Invitation:
    """Withdraw a pending invitation: its link stops working at once."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        if not invitation.is_pending:
            raise ValidationError("Only a pending invitation can be withdrawn.")
        _check_owner_rights(invitation.organization, actor, invitation.role)
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            organization=invitation.organization,
            actor=actor,
            action="invitation.revoked",
            target=invitation,
            metadata={"email": invitation.email},
        )
        _mail_after_commit(
            subject=f"Your invitation to {invitation.organization.name} was withdrawn",
            template="accounts/email/invitation_revoked.txt",
            context={"invitation": invitation},
            to=[invitation.email],
        )
    return invitation


def invitation_accept(*, token: str, user: User | None = None, password: str = "") -> Membership:
    """Join through an invitation link: as the signed-in `user` (whose e-mail must be the invited one), or as
    a new user with `password` when no account has that address yet."""
    with transaction.atomic():
        invitation = invitation_for_token(token)
        invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        if not invitation.is_pending:
            raise ValidationError("This invitation was already used or withdrawn.")
        UserModel = get_user_model()
        if user is None:
            if UserModel.objects.filter(email__iexact=invitation.email).exists():
                raise ValidationError("An account with this e-mail already exists: sign in to accept.")
            if len(password) < 10:
                raise ValidationError({"password": ["Choose a password of at least 10 characters."]})
            user = UserModel.objects.create_user(username=invitation.email, email=invitation.email, password=password)
        elif (user.email or "").lower() != invitation.email:
            raise ValidationError(f"This invitation is for {invitation.email}; you are signed in as {user.email}.")
        membership, _ = Membership.objects.get_or_create(
            organization=invitation.organization, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            organization=invitation.organization,
            actor=user,
            action="membership.added",
            target=user,
            metadata={"member": user.get_username(), "role": membership.role, "invitation": invitation.public_id},
        )
        managers = Membership.objects.filter(
            organization=invitation.organization, role__in=[Role.OWNER, Role.ADMIN]
        ).exclude(user=user)
        _mail_after_commit(
            subject=f"{user.email} joined {invitation.organization.name}",
            template="accounts/email/member_joined.txt",
            context={"invitation": invitation, "member": user.email, "role": Role(membership.role).label},
            to=[m.user.email for m in managers.select_related("user")],
        )
    return membership
