"""The demo organisation `make run` loads, idempotently."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from accounts.models import Organization, Role
from accounts.services import membership_set, user_get_or_create
from billing.services import (
    addon_grant,
    organization_create,
    subscription_set,
)
from billing.wallet import wallet_credit
from developer.public_api.authentication import lookup_principal
from developer.scopes import ALL_SCOPES
from developer.services import api_key_create

DEMO_ORG_NAME = "Sunrise Dental (demo)"
DEMO_EMAIL = "demo@aiphone360.test"
DEMO_PASSWORD = "demo-password-360"
# The demo key's secret is kept in a local file (never in the database) so `make run` can print it again.
DEMO_KEY_FILE = Path(settings.BASE_DIR) / "var" / "demo-test-key.txt"


@transaction.atomic
def demo_organization() -> Organization:
    org = Organization.objects.filter(name=DEMO_ORG_NAME).first()
    if org is None:
        org = organization_create(name=DEMO_ORG_NAME, timezone_name="America/New_York")
        subscription_set(organization=org, plan_code="PRO", actor=None)
        addon_grant(organization=org, actor=None)
        wallet_credit(
            organization=org,
            amount=Decimal("25.00"),
            reason="Demo credit",
            actor=None,
            reference=f"demo-credit-{org.public_id}",
        )
    user = user_get_or_create(email=DEMO_EMAIL, password=DEMO_PASSWORD)
    membership_set(organization=org, user=user, role=Role.OWNER)
    return org


def demo_test_key(org: Organization) -> str:
    if DEMO_KEY_FILE.exists():
        secret = DEMO_KEY_FILE.read_text().strip()
        principal = lookup_principal(secret)
        if principal is not None and principal.organization_id == org.pk and not principal.revoked:
            return secret
    _, secret = api_key_create(organization=org, name="Demo test key", mode="test", scopes=list(ALL_SCOPES), actor=None)
    DEMO_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_KEY_FILE.write_text(secret + "\n")
    DEMO_KEY_FILE.chmod(0o600)
    return secret
