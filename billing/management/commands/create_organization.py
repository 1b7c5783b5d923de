import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Role
from accounts.services import membership_set, user_get_or_create
from billing.models import Plan
from billing.services import addon_grant, organization_create, subscription_set
from billing.wallet import wallet_credit


class Command(BaseCommand):
    help = "Create an organisation with a subscription, optionally the add-on, credits and an owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--plan", default="PRO", choices=Plan.Code.values)
        parser.add_argument("--addon", action="store_true", help="Grant the Developer Platform add-on.")
        parser.add_argument("--credits", default=None, help="Initial wallet credit in dollars, e.g. 25.00")
        parser.add_argument("--timezone", default="America/New_York")
        parser.add_argument("--owner", default=None, help="E-mail of the owner to create or attach.")
        parser.add_argument("--password", default=None)
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **opts: Any) -> None:
        credits = None
        if opts["credits"] is not None:
            try:
                credits = Decimal(opts["credits"])
            except InvalidOperation as exc:
                raise CommandError("--credits must be a decimal amount such as 25.00") from exc
            if credits <= 0:
                raise CommandError("--credits must be positive")
        if opts["password"] and not opts["owner"]:
            raise CommandError("--password needs --owner")
        with transaction.atomic():
            org = organization_create(name=opts["name"], timezone_name=opts["timezone"])
            subscription_set(organization=org, plan_code=opts["plan"], actor=None)
            if opts["addon"]:
                addon_grant(organization=org, actor=None)
            if credits:
                wallet_credit(organization=org, amount=credits, reason="Initial credit (CLI)", actor=None)
            if opts["owner"]:
                owner = user_get_or_create(email=opts["owner"], password=opts["password"])
                membership_set(organization=org, user=owner, role=Role.OWNER)
        org.wallet.refresh_from_db()
        result = {
            "id": org.public_id,
            "name": org.name,
            "plan": opts["plan"],
            "addon": bool(opts["addon"]),
            "balance": str(org.wallet.balance),
            "owner": opts["owner"],
        }
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"Created organization {org.public_id} ({org.name}) on {opts['plan']}.")
