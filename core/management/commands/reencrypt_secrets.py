"""Re-encrypt every secret at rest under the current FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.crypto import ReencryptCounts, reencrypt_rows


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret at rest (webhook signing secrets, custom-tool credentials, tool-call "
        "signing secrets, current and previous) under FIELD_ENCRYPTION_KEY. Put the previous key in "
        "FIELD_ENCRYPTION_OLD_KEYS first; remove it once this reports no undecryptable secret. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows locked and written per transaction.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        total = ReencryptCounts()
        # Every model that declares encrypted columns (core.models.RotatingSecret and its subclasses,
        # agents.CustomTool): core finds them without importing the apps above it.
        for model in apps.get_models():
            fields = getattr(model, "encrypted_fields", ())
            if not fields:
                continue
            counts = reencrypt_rows(model, fields, batch_size=batch_size)
            total.add(counts)
            self.stdout.write(
                f"{model._meta.label}: {counts.rows} row(s), {counts.reencrypted} secret(s) re-encrypted, "
                f"{counts.already_current} already under the current key."
            )
        self.stdout.write(
            f"Re-encrypted {total.reencrypted} secret(s); {total.already_current} were already under the current key."
        )
        if total.undecryptable:
            for where in total.undecryptable:
                self.stderr.write(f"Undecryptable, left as it is: {where}")
            raise CommandError(
                f"{len(total.undecryptable)} secret(s) could not be decrypted with any configured key: keep the "
                "key they were encrypted under in FIELD_ENCRYPTION_OLD_KEYS and run the command again."
            )
