"""API keys: create, rotate, revoke. Called by the public API, the dashboard, the CLI and admin."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.errors import NotPermitted, ServiceError
from accounts.models import Organization
from accounts.services import audit_record

from . import fastcache
from .authentication import key_cache_key
from .keys import PREFIXES, generate_secret, hash_secret
from .models import ApiKey, Mode
from .scopes import ALL_SCOPES

if TYPE_CHECKING:
    from accounts.services import Actor

# How long a rotated-out key keeps working so the new one can be rolled out with no downtime.
GRACE_PERIODS: dict[str, timedelta] = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
}
GRACE_LABELS: dict[str, str] = {
    "now": "Immediately", "1h": "1 hour", "24h": "24 hours", "3d": "3 days", "7d": "7 days",
}


def clean_scopes(scopes: object) -> list[str]:
    if not isinstance(scopes, (list, tuple)) or not scopes:
        raise ValidationError({"scopes": ["Give a non-empty list of scopes."]})
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise ValidationError({"scopes": [f"Unknown scope(s): {', '.join(map(str, unknown))}. "
                                          f"Valid scopes: {', '.join(ALL_SCOPES)}."]})
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
    return name.strip(), mode, scopes


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


def _insert(*, organization: Organization, name: str, mode: str, scopes: list[str], actor: Actor,
            expires_at: datetime | None, rotated_from: ApiKey | None = None) -> tuple[ApiKey, str]:
    secret = generate_secret(mode)
    key = ApiKey.objects.create(
        organization=organization, name=name, mode=mode, prefix=PREFIXES[mode], last4=secret[-4:],
        key_hash=hash_secret(secret), scopes=scopes, expires_at=expires_at, rotated_from=rotated_from,
        created_by=actor if actor is not None and not isinstance(actor, ApiKey) else None,
        created_by_key=actor if isinstance(actor, ApiKey) else None,
    )
    return key, secret


@transaction.atomic
def api_key_create(*, organization: Organization, name: object, mode: object, scopes: object, actor: Actor,
                   expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is never stored and cannot be shown again."""
    name, mode, scopes = _clean(name=name, mode=mode, scopes=scopes, expires_at=expires_at)
    _ensure_key_may_grant(actor, mode=mode, scopes=scopes)
    key, secret = _insert(organization=organization, name=name, mode=mode, scopes=scopes, actor=actor,
                          expires_at=expires_at)
    audit_record(organization=organization, actor=actor, action="api_key.created", target=key,
                 metadata={"mode": mode, "scopes": scopes})
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
    """Issue a replacement with the same name, mode and scopes; the old key works until the grace ends."""
    if grace not in GRACE_PERIODS:
        raise ValidationError({"gracePeriod": [f"Must be one of: {', '.join(GRACE_PERIODS)}."]})
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    _ensure_key_may_grant(actor, mode=key.mode, scopes=key.scopes)
    now = timezone.now()
    if not key.is_usable(now):
        raise ServiceError(f"This key is {key.status(now)} and cannot be rotated.")
    if ApiKey.objects.filter(rotated_from=key).exists():
        raise ServiceError("This key has already been rotated; rotate its replacement instead.")
    ends = now + GRACE_PERIODS[grace]
    new_expiry = key.expires_at if key.expires_at and key.expires_at > ends else None
    new_key, secret = _insert(organization=key.organization, name=key.name, mode=key.mode, scopes=list(key.scopes),
                              actor=actor, expires_at=new_expiry, rotated_from=key)
    key.expires_at = min(key.expires_at, ends) if key.expires_at else ends
    key.save(update_fields=["expires_at"])
    _forget(key)
    audit_record(organization=key.organization, actor=actor, action="api_key.rotated", target=key,
                 metadata={"grace": grace, "replacement": new_key.public_id, "old_key_expires_at": key.expires_at.isoformat()})
    return new_key, secret
