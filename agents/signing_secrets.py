"""The business's tool-call signing secret: created on first use, revealed to managers, rotated.

Every tool call carries ``X-AIP-Signature: t=…,v1=…`` made exactly like a webhook signature
(core/signing.py), with this ``whsec_`` secret, so one verification routine serves both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_record
from core import crypto, rotation
from core.signing import generate_secret

from .models import ToolSigningSecret

if TYPE_CHECKING:
    from accounts.services import Actor


def signing_secret_for(*, organization: Organization) -> ToolSigningSecret:
    """The organisation's secret, created the first time anything needs it."""
    found = ToolSigningSecret.objects.filter(organization=organization).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ToolSigningSecret.objects.create(
                organization=organization, secret_encrypted=crypto.encrypt(generate_secret())
            )
    except IntegrityError:  # created concurrently: use that one
        return ToolSigningSecret.objects.get(organization=organization)


def signing_secret_reveal(*, organization: Organization, actor: Actor) -> str:
    """The current secret in full, for an owner or admin; every reveal is audited."""
    secret = signing_secret_for(organization=organization)
    audit_record(organization=organization, actor=actor, action="tool.signing_secret_revealed", target=organization)
    return secret.secret


@transaction.atomic
def signing_secret_rotate(
    *, organization: Organization, actor: Actor, overlap: object = rotation.DEFAULT
) -> tuple[ToolSigningSecret, str]:
    """Issue a new secret; the old one keeps signing alongside it for the ``overlap`` window
    (one of ``core.rotation.WINDOWS``)."""
    window = rotation.window(overlap, field="overlap")
    current = signing_secret_for(organization=organization)
    current = ToolSigningSecret.objects.select_for_update().get(pk=current.pk)
    now = timezone.now()
    new_secret = generate_secret()
    current.rotate(new_secret, window=window, now=now)
    current.rotated_at = now
    current.save()
    audit_record(
        organization=organization,
        actor=actor,
        action="tool.signing_secret_rotated",
        target=organization,
        metadata={"overlap": overlap},
    )
    return current, new_secret
