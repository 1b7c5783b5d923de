"""Re-encrypt tool credentials and signing secrets under the current FIELD_ENCRYPTION_KEY."""

from typing import Any

from django.core.management.base import BaseCommand

from agents.services import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt custom-tool credentials and tool-call signing secrets under FIELD_ENCRYPTION_KEY "
        "(put the previous key in FIELD_ENCRYPTION_OLD_KEYS first)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = secrets_reencrypt()
        self.stdout.write(f"Re-encrypted {count} secret(s).")
