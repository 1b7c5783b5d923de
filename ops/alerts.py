"""Business alerts: find each condition in the database, open an alert (e-mail + dashboard notice) once
per condition, clear it when the condition ends.

`alerts_evaluate` runs from beat (`ops.evaluate_alerts`, every 5 minutes). It only reads the other
apps' tables (endpoints' health, wallets, keys); it never changes their state. The delivery engine
disables endpoints and holds deliveries on its own; this reports what it did and what it is about to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, Role
from billing.models import Wallet
from core.errors import NotPermitted
from developer.models import ApiKey
from webhooks.delivery import AUTO_DISABLE_AFTER
from webhooks.models import Endpoint

from .models import Alert, AlertKind, AlertOptOut, AlertSettings

logger = logging.getLogger(__name__)

FAILING_FOR = timedelta(days=1)
DISABLE_WARNING = timedelta(days=1)  # warn this long before the automatic disable
KEY_UNUSED_FOR = timedelta(days=90)
USER_DISABLED_REASON = "Disabled by a user."  # webhooks' own reason when a member turns an endpoint off


@dataclass(frozen=True)
class Condition:
    organization_id: int
    kind: str
    subject: str
    title: str
    message: str
    link: str

    @property
    def key(self) -> tuple[int, str, str]:
        return self.organization_id, self.kind, self.subject


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def endpoint_conditions(now: datetime) -> Iterator[Condition]:
    failing = Endpoint.objects.filter(enabled=True, failing_since__lte=now - FAILING_FOR).only(
        "organization_id", "public_id", "url", "failing_since", "last_error"
    )
    for endpoint in failing:
        assert endpoint.failing_since is not None
        deadline = endpoint.failing_since + AUTO_DISABLE_AFTER
        link = reverse("webhooks:endpoint", args=[endpoint.public_id])
        last_error = f" The last error: {endpoint.last_error}" if endpoint.last_error else ""
        if now >= deadline - DISABLE_WARNING:
            yield Condition(
                endpoint.organization_id,
                AlertKind.ENDPOINT_DISABLING,
                endpoint.public_id,
                f"Webhook endpoint {endpoint.url} will be disabled on {_when(deadline)}",
                f"Every delivery to {endpoint.url} has failed since {_when(endpoint.failing_since)}.{last_error} "
                f"Unless a delivery succeeds before {_when(deadline)}, the endpoint will be disabled and its "
                "pending events marked failed (you can recover them once it works again).",
                link,
            )
        else:
            yield Condition(
                endpoint.organization_id,
                AlertKind.ENDPOINT_FAILING,
                endpoint.public_id,
                f"Webhook endpoint {endpoint.url} has been failing since {_when(endpoint.failing_since)}",
                f"Every delivery to {endpoint.url} has failed since {_when(endpoint.failing_since)}.{last_error} "
                f"We keep retrying; if nothing succeeds it will be disabled on {_when(deadline)}.",
                link,
            )
    disabled = (
        Endpoint.objects.filter(enabled=False, disabled_at__isnull=False)
        .exclude(disabled_reason=USER_DISABLED_REASON)
        .only("organization_id", "public_id", "url", "disabled_at", "disabled_reason")
    )
    for endpoint in disabled:
        assert endpoint.disabled_at is not None
        yield Condition(
            endpoint.organization_id,
            AlertKind.ENDPOINT_DISABLED,
            endpoint.public_id,
            f"Webhook endpoint {endpoint.url} was disabled",
            f"We disabled {endpoint.url} on {_when(endpoint.disabled_at)}: {endpoint.disabled_reason} "
            "Events are no longer sent to it. Fix the receiver, enable the endpoint again and recover the "
            "events it missed.",
            reverse("webhooks:endpoint", args=[endpoint.public_id]),
        )


def _platform_users() -> Q:
    """Organisations that use the platform (a live key or an enabled endpoint) and are not suspended."""
    return Q(organization__suspended_at__isnull=True) & (
        Q(organization__api_keys__mode="live", organization__api_keys__revoked_at__isnull=True)
        | Q(organization__webhook_endpoints__enabled=True)
    )


def wallet_conditions(now: datetime) -> Iterator[Condition]:
    link = reverse("usage:usage")
    empty = Wallet.objects.filter(_platform_users(), balance__lte=0).distinct().only("organization_id", "balance")
    for wallet in empty:
        yield Condition(
            wallet.organization_id,
            AlertKind.OUT_OF_CREDITS,
            "wallet",
            "Out of credits: live webhook deliveries are held",
            f"Your wallet balance is {_money(wallet.balance)}. Live API requests are refused with 402 "
            "INSUFFICIENT_CREDITS and live webhook deliveries are held (for up to 3 days) until credits are added; "
            "they are sent as soon as the wallet is funded. Test mode keeps working.",
            link,
        )
    low = (
        Wallet.objects.filter(_platform_users(), balance__gt=0)
        .filter(balance__lt=F("organization__alert_settings__low_balance_threshold"))
        .distinct()
        .values_list("organization_id", "balance", "organization__alert_settings__low_balance_threshold")
    )
    for organization_id, balance, threshold in low:
        if threshold is not None:
            yield Condition(
                organization_id,
                AlertKind.LOW_BALANCE,
                "wallet",
                f"Wallet balance {_money(balance)} is below your {_money(threshold)} alert threshold",
                f"Your wallet balance is {_money(balance)}, below the {_money(threshold)} you asked to be warned at. "
                "When it reaches zero, live API requests are refused and live webhook deliveries are held.",
                link,
            )


def key_conditions(now: datetime) -> Iterator[Condition]:
    stale = (
        ApiKey.objects.usable(now)
        .annotate(last_seen=Coalesce("last_used_at", "created_at"))
        .filter(last_seen__lte=now - KEY_UNUSED_FOR)
        .only("organization_id", "public_id", "name", "prefix", "last4", "last_used_at", "created_at")
    )
    for key in stale:
        since = (
            f"was last used on {key.last_used_at:%Y-%m-%d}"
            if key.last_used_at
            else f"has not been used since it was created on {key.created_at:%Y-%m-%d}"
        )
        yield Condition(
            key.organization_id,
            AlertKind.KEY_UNUSED,
            key.public_id,
            f"API key {key.name} ({key.masked}) unused for 90 days",
            f"The {key.mode} key {key.name} ({key.masked}) {since}. If nothing uses it any more, revoke it: "
            "an unused key is a risk and no use.",
            reverse("developer:keys"),
        )


def conditions(now: datetime) -> list[Condition]:
    return [*endpoint_conditions(now), *wallet_conditions(now), *key_conditions(now)]


# ---------------------------------------------------------------------------------------------
# Opening and clearing


@dataclass(frozen=True)
class EvaluateResult:
    opened: int
    cleared: int
    open: int


def alerts_evaluate(*, now: datetime | None = None) -> EvaluateResult:
    """Open an alert for each condition found that has none, clear each open alert whose condition ended."""
    now = now or timezone.now()
    found = {condition.key: condition for condition in conditions(now)}
    open_alerts = {
        (alert.organization_id, alert.kind, alert.subject): alert.pk
        for alert in Alert.objects.filter(cleared_at__isnull=True).only("organization_id", "kind", "subject")
    }
    ended = [pk for key, pk in open_alerts.items() if key not in found]
    cleared = Alert.objects.filter(pk__in=ended, cleared_at__isnull=True).update(cleared_at=now) if ended else 0
    opened = sum(1 for key, condition in found.items() if key not in open_alerts and _open(condition, now=now))
    return EvaluateResult(opened=opened, cleared=cleared, open=len(found))


def recipients(organization_id: int, kind: str) -> list[Membership]:
    """Owners and admins with an e-mail address who have not opted out of this kind."""
    return list(
        Membership.objects.filter(
            organization_id=organization_id, role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
        )
        .exclude(user__email="")
        .exclude(alert_opt_outs__kind=kind)
        .select_related("user", "organization")
        .order_by("user__email")
    )


def _open(condition: Condition, *, now: datetime) -> bool:
    members = recipients(condition.organization_id, condition.kind)
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                organization_id=condition.organization_id,
                kind=condition.kind,
                subject=condition.subject,
                title=condition.title[:200],
                message=condition.message,
                link=condition.link,
                opened_at=now,
                emailed_to=len(members),
            )
            transaction.on_commit(lambda: send_alert_emails(alert, members))
    except IntegrityError:
        return False  # opened meanwhile by a concurrent run: it sent the e-mail
    logger.info("alert opened: %s %s for organization %s", condition.kind, condition.subject, condition.organization_id)
    return True


def render_alert_email(alert: Alert, membership: Membership) -> EmailMessage:
    context = {
        "alert": alert,
        "organization": membership.organization,
        "member": membership.user,
        "link": settings.SITE_URL + alert.link if alert.link else "",
        "preferences": settings.SITE_URL + reverse("ops:alert_settings"),
    }
    body = render_to_string("ops/email/alert.txt", context)
    subject = f"[AI Phone 360] {membership.organization.name}: {alert.title}"
    return EmailMessage(subject[:250], body, None, [membership.user.email])


def send_alert_emails(alert: Alert, members: list[Membership]) -> None:
    """One message per member (no one sees the others' addresses); a mail failure is logged, the alert stays."""
    if not members:
        return
    try:
        with get_connection() as connection:
            connection.send_messages([render_alert_email(alert, member) for member in members])
    except Exception:
        logger.exception("could not e-mail alert %s to %d members", alert.pk, len(members))


# ---------------------------------------------------------------------------------------------
# What members see and choose


def notices_for(membership: Membership) -> list[Alert]:
    """The open alerts a member sees on the dashboard: owners and admins, minus the kinds they opted out of."""
    if not membership.can_manage:
        return []
    opted_out = AlertOptOut.objects.filter(membership=membership).values("kind")
    return list(
        Alert.objects.filter(organization_id=membership.organization_id, cleared_at__isnull=True).exclude(
            kind__in=opted_out
        )
    )


def alert_opt_outs_set(*, membership: Membership, kinds: list[str]) -> set[str]:
    """Replace the member's opt-outs with `kinds` (each an AlertKind value)."""
    unknown = set(kinds) - set(AlertKind.values)
    if unknown:
        raise ValidationError({"kinds": [f"Unknown alert kind: {', '.join(sorted(unknown))}."]})
    with transaction.atomic():
        AlertOptOut.objects.filter(membership=membership).exclude(kind__in=kinds).delete()
        for kind in kinds:
            AlertOptOut.objects.get_or_create(membership=membership, kind=kind)
    return set(kinds)


def low_balance_threshold_set(
    *, organization: Organization, membership: Membership, threshold: object
) -> Decimal | None:
    """The owner's threshold (empty: no low-balance alert). Only an owner may set it."""
    if membership.organization_id != organization.pk or membership.role != Role.OWNER:
        raise NotPermitted("Only an owner can set the low-balance threshold.")
    value: Decimal | None
    if threshold in (None, ""):
        value = None
    else:
        try:
            value = Decimal(str(threshold).strip().lstrip("$")).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise ValidationError({"threshold": ["Enter an amount in dollars, such as 25 or 12.50."]}) from None
        if not value.is_finite() or value <= 0 or value > Decimal("1000000"):
            raise ValidationError({"threshold": ["Enter an amount between $0.01 and $1,000,000."]})
    AlertSettings.objects.update_or_create(organization=organization, defaults={"low_balance_threshold": value})
    return value
