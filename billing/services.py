"""Subscriptions, the Developer Platform add-on, the credit wallet, and creating and suspending an organisation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_record
from core.errors import ServiceError

from .access import invalidate_access_state
from .models import LedgerEntry, Plan, PlatformAddon, Subscription, Wallet
from .quota import money
from .signals import wallet_funded

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
        # metering imports this module (wallet_debit), hence the import here.
        from .metering import plan_change_apply

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


@dataclass(frozen=True)
class ChargeDetail:
    """What a usage charge was for, copied onto its ledger row so it never changes afterwards."""

    metric: str
    quantity: int
    unit_price: Decimal
    api_key_id: int | None = None
    # When the usage it bills happened: the ledger row is dated then (see LedgerEntry.dated_at).
    at: datetime | None = None


def _post(
    *,
    wallet: Wallet,
    amount: Decimal,
    reason: str,
    reference: str | None,
    actor_label: str,
    charge: ChargeDetail | None = None,
) -> LedgerEntry:
    """Move the locked wallet by `amount` and write the ledger row; the caller holds the row lock."""
    before = wallet.balance
    wallet.balance = before + amount
    wallet.save(update_fields=["balance", "updated_at"])
    entry = LedgerEntry.objects.create(
        wallet=wallet,
        amount=amount,
        reason=reason,
        reference=reference,
        actor_label=actor_label,
        balance_after=wallet.balance,
        dated_at=charge.at if charge is not None and charge.at is not None else timezone.now(),
        **(
            {
                "metric": charge.metric,
                "api_key_id": charge.api_key_id,
                "quantity": charge.quantity,
                "unit_price": charge.unit_price,
            }
            if charge
            else {}
        ),
    )
    if (before > 0) != (wallet.balance > 0):
        # Crossing zero flips the gate (402 INSUFFICIENT_CREDITS) one way or the other.
        invalidate_access_state(wallet.organization_id)
    if amount > 0 and wallet.balance > 0:
        # Every credit that leaves funds, not only the one crossing zero: a partial top-up released only
        # what it paid for, and the next one releases more.
        organization_id = wallet.organization_id
        transaction.on_commit(lambda: _announce_funded(organization_id))
    return entry


def _announce_funded(organization_id: int) -> None:
    """Funds arrived: tell whoever listens (webhooks sends the live deliveries it held while the wallet was empty)."""
    for receiver, result in wallet_funded.send_robust(sender=Wallet, organization_id=organization_id):
        if isinstance(result, Exception):
            # The credit is committed whatever happens here; held deliveries stay in the database and
            # the webhooks sweep releases them on its next run.
            logger.error(
                "%s failed for organization %s",
                getattr(receiver, "__qualname__", receiver),
                organization_id,
                exc_info=result,
            )


def _actor_label(actor: Actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, User):
        return actor.get_username()
    return f"{actor.name} ({actor.masked})"


@transaction.atomic
def wallet_credit(
    *, organization: Organization, amount: Decimal, reason: str, actor: Actor, reference: str | None = None
) -> LedgerEntry:
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ServiceError("A credit must be a positive amount.")
    wallet = Wallet.objects.select_for_update().get(organization=organization)
    if reference and LedgerEntry.objects.filter(reference=reference).exists():
        return LedgerEntry.objects.get(reference=reference)
    entry = _post(wallet=wallet, amount=amount, reason=reason, reference=reference, actor_label=_actor_label(actor))
    audit_record(
        organization=organization,
        actor=actor,
        action="wallet.credited",
        target=entry,
        metadata={"amount": str(amount), "reason": reason},
    )
    return entry


@transaction.atomic
def wallet_debit(
    *,
    organization: Organization,
    amount: Decimal,
    reason: str,
    reference: str,
    allow_negative: bool = False,
    charge: ChargeDetail | None = None,
) -> LedgerEntry | None:
    """Charge the wallet once per `reference`. Returns None when the wallet cannot pay.

    The row lock serialises concurrent debits, and the unique reference makes a retried charge a
    no-op, so two workers can neither double-charge nor race the balance past zero.
    `allow_negative` is for usage that has already happened (metering): it is owed whatever the
    balance, and the resulting balance at or below zero blocks further live usage.
    """
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ServiceError("A debit must be a positive amount.")
    wallet = Wallet.objects.select_for_update().get(organization=organization)
    existing = LedgerEntry.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    if not allow_negative and wallet.balance < amount:
        return None
    return _post(
        wallet=wallet, amount=-amount, reason=reason, reference=reference, actor_label="metering", charge=charge
    )


class InsufficientCredits(ServiceError):
    """The wallet cannot pay for work before it is done (the API's 402 INSUFFICIENT_CREDITS)."""

    def __init__(self, *, amount: Decimal) -> None:
        super().__init__(
            f"The wallet cannot pay ${money(amount)} for this. Nothing was sent or charged; add funds to resume "
            "live requests (test keys keep working).",
            code="INSUFFICIENT_CREDITS",
            status=402,
        )


@dataclass(frozen=True)
class Reservation:
    """Money taken from the wallet before the work it pays for; kept as the charge or given back."""

    organization_id: int
    amount: Decimal
    reference: str
    charge: ChargeDetail | None = None


@transaction.atomic
def wallet_reserve(
    *, organization: Organization, amount: Decimal, reason: str, reference: str, charge: ChargeDetail | None = None
) -> Reservation:
    """Take `amount` now, only if the wallet holds it, or raise InsufficientCredits: prepaid work never overdraws.

    `wallet_debit`'s conditional debit under the row lock: concurrent reservations are serialised and
    the balance cannot be spent twice. The reservation *is* the charge unless `wallet_release` gives
    it back; a reference already taken returns that same reservation (a retry, not a second charge).
    """
    entry = wallet_debit(organization=organization, amount=amount, reason=reason, reference=reference, charge=charge)
    if entry is None:
        raise InsufficientCredits(amount=amount)
    return Reservation(organization_id=organization.pk, amount=amount, reference=reference, charge=charge)


def _release_reference(reference: str) -> str:
    return f"{reference}:released"


@transaction.atomic
def wallet_release(*, reservation: Reservation, reason: str) -> LedgerEntry:
    """Give a reservation back with a ledger row of its own (the work it paid for was not done). Idempotent."""
    wallet = Wallet.objects.select_for_update().get(organization_id=reservation.organization_id)
    reference = _release_reference(reservation.reference)
    existing = LedgerEntry.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    return _post(
        wallet=wallet,
        amount=reservation.amount,
        reason=reason,
        reference=reference,
        actor_label="metering",
        # The refund carries the charge's metric (its positive amount marks it a refund), so spend nets out.
        charge=reservation.charge,
    )


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
