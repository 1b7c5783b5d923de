import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from developer.scopes import ALL_SCOPES
from developer.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organisation and print its secret (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organisation id (biz_…)")
        parser.add_argument("--mode", required=True, choices=["test", "live"])
        parser.add_argument("--scopes", default="all", help="'all' or a comma-separated list")
        parser.add_argument("--name", default="CLI key")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        organization = Organization.objects.filter(public_id=opts["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with id {opts['org']}")
        scopes = (
            list(ALL_SCOPES) if opts["scopes"] == "all" else [s.strip() for s in opts["scopes"].split(",") if s.strip()]
        )
        try:
            key, secret = api_key_create(
                organization=organization, name=opts["name"], mode=opts["mode"], scopes=scopes, actor=None
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        if opts["json"]:
            self.stdout.write(
                json.dumps({"id": key.public_id, "mode": key.mode, "scopes": key.scopes, "secret": secret})
            )
        else:
            self.stdout.write(f"{key.public_id} ({key.mode}): {secret}")
