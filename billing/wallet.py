"""The credit wallet: credits, debits and reservations, each a ledger row written under the wallet's row lock.

Metering charges through it and the billing services credit it; it imports neither.
"""

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
from .models import LedgerEntry, Wallet
from .quota import money
from .signals import wallet_funded

if TYPE_CHECKING:
    from accounts.services import Actor

logger = logging.getLogger(__name__)


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
