"""Abstract models shared by the apps; no tables of their own (so no migrations)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from django.db import models

from core import crypto


class RotatingSecret(models.Model):
    """A signing secret stored encrypted that can be rotated with an overlap window.

    After ``rotate()`` the previous secret keeps signing alongside the new one until
    ``previous_secret_expires_at``, so a receiver can deploy the new secret with no downtime.
    Both secrets are encrypted by ``core.crypto`` under ``FIELD_ENCRYPTION_KEY``.
    """

    # The columns ``manage.py reencrypt_secrets`` moves under the current key.
    encrypted_fields: ClassVar[tuple[str, ...]] = ("secret_encrypted", "previous_secret_encrypted")

    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = crypto.encrypt(plaintext)

    def rotate(self, new_secret: str, *, window: timedelta, now: datetime) -> None:
        """Make ``new_secret`` current; the old one keeps signing for ``window`` (none if zero).

        The caller saves the row (inside the transaction that locked it)."""
        if window:
            self.previous_secret_encrypted = self.secret_encrypted
            self.previous_secret_expires_at = now + window
        else:
            self.previous_secret_encrypted, self.previous_secret_expires_at = "", None
        self.set_secret(new_secret)

    def previous_secret_active(self, now: datetime) -> bool:
        return bool(
            self.previous_secret_encrypted and self.previous_secret_expires_at and now < self.previous_secret_expires_at
        )

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a message made at ``now`` is signed with: the old first while it overlaps, then the new."""
        secrets = [crypto.decrypt(self.previous_secret_encrypted)] if self.previous_secret_active(now) else []
        secrets.append(self.secret)
        return secrets
