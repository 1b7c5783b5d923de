"""API keys (create, rotate, revoke) and access requests for the Developer Platform add-on.

Called by the public API, the dashboard, the CLI and Django admin alike."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, Role
from accounts.services import audit_record
from billing.access import load_access_state
from billing.services import addon_grant
from core import fastcache, rotation
from core.errors import NotPermitted, ServiceError
from core.timefmt import iso

from .access_status import QUALIFYING_PLANS, plan_list
from .keys import PREFIXES, generate_secret, hash_secret
from .models import AccessRequest, ApiKey, Mode
from .public_api.authentication import key_cache_key
from .scopes import ALL_SCOPES

if TYPE_CHECKING:
    from accounts.services import Actor

logger = logging.getLogger(__name__)


def clean_scopes(scopes: object) -> list[str]:
    if not isinstance(scopes, (list, tuple)) or not scopes:
        raise ValidationError({"scopes": ["Give a non-empty list of scopes."]})
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise ValidationError(
            {"scopes": [f"Unknown scope(s): {', '.join(map(str, unknown))}. Valid scopes: {', '.join(ALL_SCOPES)}."]}
        )
    return [s for s in ALL_SCOPES if s in scopes]  # canonical order, no duplicates


def _clean(*, name: object, mode: object, scopes: object, expires_at: datetime | None) -> tuple[str, str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Give the key a name (1–100 characters)."]
    elif len(name.strip()) > 100:
        errors["name"] = ["At most 100 characters."]
    if mode not in Mode.values:
        errors["mode"] = ["Must be 'test' or 'live'."]
    try:
        scopes = clean_scopes(scopes)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if expires_at is not None and expires_at <= timezone.now():
        errors["expiresAt"] = ["Must be in the future."]
    if errors:
        raise ValidationError(errors)
    # Each was checked above (or errors raised); the checks do not narrow across the error dict.
    assert isinstance(name, str) and isinstance(mode, str) and isinstance(scopes, list)
    return name.strip(), mode, scopes


def api_key_check(*, name: object, mode: object, scopes: object) -> dict[str, list[str]]:
    """The problems `api_key_create` would refuse these values with, without creating anything: a form
    with another bad field (the dashboard's expiry choice) still lists them all at once."""
    try:
        _clean(name=name, mode=mode, scopes=scopes, expires_at=None)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def _ensure_key_may_grant(actor: Actor, *, mode: str, scopes: Iterable[str]) -> None:
    """A key can only hand out what it holds: its own scopes, and only test keys if it is a test key."""
    if not isinstance(actor, ApiKey):
        return
    if actor.mode == Mode.TEST and mode != Mode.TEST:
        raise NotPermitted("A test key can only create or manage test keys.")
    missing = sorted(set(scopes) - set(actor.scopes))
    if missing:
        raise NotPermitted(f"A key can only grant scopes it holds itself; this key lacks {', '.join(missing)}.")


def _forget(key: ApiKey) -> None:
    """Drop the key from every process's view now and after commit (the cache is shared)."""
    fastcache.forget(key_cache_key(key.key_hash))


def _insert(
    *,
    organization: Organization,
    name: str,
    mode: str,
    scopes: list[str],
    actor: Actor,
    expires_at: datetime | None,
    rotated_from: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    secret = generate_secret(mode)
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        mode=mode,
        prefix=PREFIXES[mode],
        last4=secret[-4:],
        key_hash=hash_secret(secret),
        scopes=scopes,
        expires_at=expires_at,
        rotated_from=rotated_from,
        created_by=actor if isinstance(actor, User) else None,
        created_by_key=actor if isinstance(actor, ApiKey) else None,
    )
    return key, secret


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    name: object,
    mode: object,
    scopes: object,
    actor: Actor,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is never stored and cannot be shown again."""
    name, mode, scopes = _clean(name=name, mode=mode, scopes=scopes, expires_at=expires_at)
    _ensure_key_may_grant(actor, mode=mode, scopes=scopes)
    key, secret = _insert(
        organization=organization, name=name, mode=mode, scopes=scopes, actor=actor, expires_at=expires_at
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="api_key.created",
        target=key,
        metadata={"mode": mode, "scopes": scopes},
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Immediate: the next request with this key gets INVALID_API_KEY. Revoking twice is a no-op."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    _ensure_key_may_grant(actor, mode=key.mode, scopes=key.scopes)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(organization=key.organization, actor=actor, action="api_key.revoked", target=key)
    _forget(key)
    return key


@transaction.atomic
def api_key_rotate(*, key: ApiKey, grace: object, actor: Actor) -> tuple[ApiKey, str]:
    """Issue a replacement with the same name, mode and scopes; the old key works until the grace
    (one of ``core.rotation.WINDOWS``) ends, so the new one can be rolled out with no downtime."""
    window = rotation.window(grace, field="gracePeriod")
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    _ensure_key_may_grant(actor, mode=key.mode, scopes=key.scopes)
    now = timezone.now()
    if not key.is_usable(now):
        raise ServiceError(f"This key is {key.status(now)} and cannot be rotated.")
    if ApiKey.objects.filter(rotated_from=key).exists():
        raise ServiceError("This key has already been rotated; rotate its replacement instead.")
    ends = now + window
    new_expiry = key.expires_at if key.expires_at and key.expires_at > ends else None
    new_key, secret = _insert(
        organization=key.organization,
        name=key.name,
        mode=key.mode,
        scopes=list(key.scopes),
        actor=actor,
        expires_at=new_expiry,
        rotated_from=key,
    )
    key.expires_at = min(key.expires_at, ends) if key.expires_at else ends
    key.save(update_fields=["expires_at"])
    _forget(key)
    audit_record(
        organization=key.organization,
        actor=actor,
        action="api_key.rotated",
        target=key,
        metadata={"grace": grace, "replacement": new_key.public_id, "old_key_expires_at": iso(key.expires_at)},
    )
    return new_key, secret


# --- access requests: asking for the Developer Platform add-on during the beta ---------------------

INTENDED_USE_MIN, INTENDED_USE_MAX = 10, 2000
DECISION_MESSAGE_MAX = 2000


def _ensure_manages(organization: Organization, actor: User | None) -> None:
    """Only the organisation's owners and admins ask for (or withdraw) access; the view checks too."""
    if (
        actor is None
        or not Membership.objects.filter(
            organization=organization, user=actor, role__in=(Role.OWNER, Role.ADMIN)
        ).exists()
    ):
        raise NotPermitted("Only owners and admins of the organisation can request or withdraw access.")


def _clean_access_request(
    *, intended_use: object, expected_monthly_volume: object, contact_email: object
) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    use = intended_use.strip() if isinstance(intended_use, str) else ""
    if len(use) < INTENDED_USE_MIN:
        errors["intendedUse"] = ["Tell us in a sentence or two what you will build with the API."]
    elif len(use) > INTENDED_USE_MAX:
        errors["intendedUse"] = [f"At most {INTENDED_USE_MAX:,} characters."]
    if expected_monthly_volume not in AccessRequest.Volume.values:
        errors["expectedMonthlyVolume"] = ["Choose how many requests a month you expect."]
    email = contact_email.strip() if isinstance(contact_email, str) else ""
    try:
        validate_email(email)
    except ValidationError:
        errors["contactEmail"] = ["Enter an e-mail address we can reach you at."]
    if errors:
        raise ValidationError(errors)
    return use, str(expected_monthly_volume), email


def _clean_message(message: object) -> str:
    text = message.strip() if isinstance(message, str) else ""
    if len(text) > DECISION_MESSAGE_MAX:
        raise ValidationError({"message": [f"At most {DECISION_MESSAGE_MAX:,} characters."]})
    return text


def _already_pending() -> ServiceError:
    return ServiceError(
        "A request for Developer Platform access is already pending for this organisation. "
        "Withdraw it to send a new one.",
        code="CONFLICT",
        status=409,
    )


@transaction.atomic
def access_request_submit(
    *,
    organization: Organization,
    actor: User,
    intended_use: object,
    expected_monthly_volume: object,
    contact_email: object,
) -> AccessRequest:
    """Ask our team for the add-on. One open request per organisation; staff are e-mailed after commit."""
    _ensure_manages(organization, actor)
    use, volume, email = _clean_access_request(
        intended_use=intended_use, expected_monthly_volume=expected_monthly_volume, contact_email=contact_email
    )
    state = load_access_state(organization.pk)  # fresh from the database, not the gate's cache
    if state.addon_active:
        raise ServiceError("This organisation already has the Developer Platform add-on.", code="CONFLICT", status=409)
    if not state.subscription_active:
        raise ServiceError(
            f"The Developer Platform needs an active {plan_list(QUALIFYING_PLANS)} subscription. "
            "Subscribe first, then request access.",
            code="SUBSCRIPTION_REQUIRED",
            status=402,
        )
    if AccessRequest.objects.open().filter(organization=organization).exists():
        raise _already_pending()
    try:
        with transaction.atomic():  # a concurrent submit loses on the partial unique constraint
            access_request = AccessRequest.objects.create(
                organization=organization,
                requested_by=actor,
                intended_use=use,
                expected_monthly_volume=volume,
                contact_email=email,
            )
    except IntegrityError:
        raise _already_pending() from None
    audit_record(
        organization=organization,
        actor=actor,
        action="access_request.submitted",
        target=access_request,
        metadata={"expectedMonthlyVolume": volume, "contactEmail": email},
    )
    request_pk = access_request.pk
    transaction.on_commit(lambda: _notify_staff_of_request(request_pk))
    return access_request


@transaction.atomic
def access_request_withdraw(*, access_request: AccessRequest, actor: User) -> AccessRequest:
    """The business takes back its pending request. Withdrawing twice is a no-op."""
    _ensure_manages(access_request.organization, actor)
    access_request = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if access_request.status == AccessRequest.Status.WITHDRAWN:
        return access_request
    if access_request.status != AccessRequest.Status.PENDING:
        raise ServiceError(
            f"This request was already {access_request.get_status_display().lower()} and can no longer be withdrawn.",
            code="CONFLICT",
            status=409,
        )
    access_request.status = AccessRequest.Status.WITHDRAWN
    access_request.decided_by, access_request.decided_at = actor, timezone.now()
    access_request.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    audit_record(
        organization=access_request.organization, actor=actor, action="access_request.withdrawn", target=access_request
    )
    return access_request


def _decide(*, access_request: AccessRequest, actor: Actor, message: object, status: str) -> AccessRequest:
    """Record a staff decision on a pending request; the same decision again changes nothing."""
    text = _clean_message(message)
    access_request = AccessRequest.objects.select_for_update().select_related("organization").get(pk=access_request.pk)
    if access_request.status == status:
        return access_request
    if access_request.status != AccessRequest.Status.PENDING:
        hint = " Revoke the add-on from the organisation instead." if access_request.status == "approved" else ""
        raise ServiceError(
            f"This request was already {access_request.get_status_display().lower()}.{hint}",
            code="CONFLICT",
            status=409,
        )
    if status == AccessRequest.Status.APPROVED:
        # The one grant service, exactly as the Organisation admin's action calls it: who and when are kept.
        addon_grant(organization=access_request.organization, actor=actor)
    access_request.status = status
    access_request.decided_by = actor if isinstance(actor, User) else None
    access_request.decided_at = timezone.now()
    access_request.decision_message = text
    access_request.save(update_fields=["status", "decided_by", "decided_at", "decision_message", "updated_at"])
    audit_record(
        organization=access_request.organization,
        actor=actor,
        action=f"access_request.{status}",
        target=access_request,
        metadata={"message": text},
    )
    request_pk = access_request.pk
    transaction.on_commit(lambda: _notify_requester_of_decision(request_pk))
    return access_request


@transaction.atomic
def access_request_approve(*, access_request: AccessRequest, actor: Actor, message: object = "") -> AccessRequest:
    """Grant the add-on through `billing.services.addon_grant` and tell the requester. Idempotent."""
    return _decide(access_request=access_request, actor=actor, message=message, status=AccessRequest.Status.APPROVED)


@transaction.atomic
def access_request_deny(*, access_request: AccessRequest, actor: Actor, message: object = "") -> AccessRequest:
    """Decline with an optional reason the business sees on its dashboard and by e-mail. Idempotent."""
    return _decide(access_request=access_request, actor=actor, message=message, status=AccessRequest.Status.DENIED)


def _send(*, subject: str, template: str, context: dict[str, object], to: list[str]) -> None:
    """Runs after commit: the request or decision is recorded whatever the mail server says, so a
    failure is logged for staff rather than turned into an error for the person who clicked."""
    if not to:
        return
    body = render_to_string(template, {"site_url": settings.SITE_URL, **context})
    try:
        send_mail(subject, body, None, to)
    except Exception:
        logger.exception("Could not send %r to %s", subject, ", ".join(to))


def _notify_staff_of_request(request_pk: int) -> None:
    access_request = AccessRequest.objects.select_related("organization", "requested_by").get(pk=request_pk)
    _send(
        subject=f"Developer Platform access requested: {access_request.organization.name}",
        template="developer/email/access_request_received.txt",
        context={
            "access_request": access_request,
            "review_url": settings.SITE_URL + reverse("admin:developer_accessrequest_change", args=[access_request.pk]),
        },
        to=list(settings.ACCESS_REQUEST_NOTIFY_EMAILS),
    )


def _notify_requester_of_decision(request_pk: int) -> None:
    access_request = AccessRequest.objects.select_related("organization", "requested_by").get(pk=request_pk)
    recipients = [access_request.contact_email]
    requester_email = getattr(access_request.requested_by, "email", "")
    if requester_email and requester_email.lower() != access_request.contact_email.lower():
        recipients.append(requester_email)
    approved = access_request.status == AccessRequest.Status.APPROVED
    _send(
        subject=(
            "Your Developer Platform access is approved"
            if approved
            else "Your Developer Platform access request was declined"
        ),
        template="developer/email/access_request_decided.txt",
        context={
            "access_request": access_request,
            "approved": approved,
            "keys_url": settings.SITE_URL + reverse("developer:keys"),
            "access_url": settings.SITE_URL + reverse("developer:access"),
        },
        to=recipients,
    )
