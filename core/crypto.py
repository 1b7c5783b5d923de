"""Encryption at rest for every secret we must be able to read back.

A webhook ``whsec_`` secret, a tool's bearer token or password and the tool-call signing secret
are sent or used on every request, so they cannot be hashed like API keys. They are stored
Fernet-encrypted (AES-128-CBC + HMAC-SHA256) under ``FIELD_ENCRYPTION_KEY``: a Fernet key
(44 url-safe base64 characters) is used as is, any other passphrase is stretched with HKDF-SHA256.
``FIELD_ENCRYPTION_OLD_KEYS`` lists retired keys that still decrypt. ``SECRET_KEY`` plays no part,
so rotating it never makes a secret unreadable.

Rotating the key: put the current key in ``FIELD_ENCRYPTION_OLD_KEYS``, set the new one, run
``manage.py reencrypt_secrets``, then remove the old key.

A model declares which of its text columns hold such tokens in ``encrypted_fields``;
``reencrypt_rows`` moves those columns under the current key, in batches, and the command and
the data migrations use it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

__all__ = [
    "ReencryptCounts",
    "UndecryptableSecret",
    "decrypt",
    "encrypt",
    "fernet_key",
    "needs_reencrypt",
    "reencrypt",
    "reencrypt_rows",
]

logger = logging.getLogger(__name__)

# Domain separation: a passphrase used for something else never doubles as this key. The label is
# historical (the tool secrets came first) and must stay as it is, or stored tokens stop decrypting.
_HKDF_INFO = b"aiphone360:agents:field-encryption:v1"

# LEGACY, decrypt only: webhook secrets used to be encrypted under SHA-256 of this label and
# SECRET_KEY (the removed webhooks/crypto.py). Rows written that way still decrypt, so nothing
# breaks before migration webhooks 0002 or `reencrypt_secrets` moves them under FIELD_ENCRYPTION_KEY.
_LEGACY_WEBHOOK_LABEL = b"aiphone360:secrets-at-rest:"


class UndecryptableSecret(Exception):
    """A stored token that no configured key opens: a retired key is missing from the settings."""

    def __init__(self) -> None:
        super().__init__(
            "A secret at rest could not be decrypted with FIELD_ENCRYPTION_KEY, FIELD_ENCRYPTION_OLD_KEYS "
            "or the legacy SECRET_KEY derivation: add the key it was encrypted under to FIELD_ENCRYPTION_OLD_KEYS."
        )


def fernet_key(material: str) -> bytes:
    """``material`` itself when it already is a Fernet key, else a key derived from it with HKDF."""
    try:
        if len(material) == 44 and len(base64.urlsafe_b64decode(material.encode("ascii"))) == 32:
            return material.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


def _legacy_keys(secret_key: str) -> list[bytes]:
    """LEGACY, decrypt only: the keys secrets were encrypted under before FIELD_ENCRYPTION_KEY was
    required — webhooks' SHA-256 derivation of SECRET_KEY, and the tools' HKDF one (their fallback
    when FIELD_ENCRYPTION_KEY was left empty)."""
    webhook = base64.urlsafe_b64encode(hashlib.sha256(_LEGACY_WEBHOOK_LABEL + secret_key.encode("utf-8")).digest())
    return [webhook, fernet_key(secret_key)]


@functools.cache
def _boxes(current: str, old: tuple[str, ...], secret_keys: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    primary = Fernet(fernet_key(current))
    decrypt_only = [fernet_key(k) for k in old] + [k for s in secret_keys for k in _legacy_keys(s)]
    return primary, MultiFernet([primary, *(Fernet(k) for k in dict.fromkeys(decrypt_only))])


def _current() -> tuple[Fernet, MultiFernet]:
    current = settings.FIELD_ENCRYPTION_KEY
    if not current:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty: secrets at rest cannot be encrypted.")
    old = tuple(k for k in settings.FIELD_ENCRYPTION_OLD_KEYS if k)
    secret_keys = tuple(k for k in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())) if k)
    return _boxes(current, old, secret_keys)


def encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted under the current key, as ASCII text for a ``TextField``."""
    return _current()[0].encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of ``token``, opened with the current, an old or a legacy key."""
    try:
        return _current()[1].decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise UndecryptableSecret() from None


def needs_reencrypt(token: str) -> bool:
    """Whether ``token`` is under anything but the current key."""
    try:
        _current()[0].decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return True
    return False


def reencrypt(token: str) -> str:
    """The same plaintext under the current key."""
    try:
        return _current()[1].rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise UndecryptableSecret() from None


@dataclass
class ReencryptCounts:
    """What ``reencrypt_rows`` did; it names rows, never secrets."""

    rows: int = 0
    reencrypted: int = 0
    already_current: int = 0
    undecryptable: list[str] = field(default_factory=list)

    def add(self, other: ReencryptCounts) -> None:
        self.rows += other.rows
        self.reencrypted += other.reencrypted
        self.already_current += other.already_current
        self.undecryptable += other.undecryptable


def reencrypt_rows(
    model: type[models.Model], fields: Sequence[str], *, batch_size: int = 500, label: str = ""
) -> ReencryptCounts:
    """Move every non-empty token in ``fields`` of ``model``'s rows under the current key.

    Idempotent: a token already under the current key is left as it is. Rows are locked and
    written a batch at a time (keyset by primary key), so a concurrent rotation of one secret is
    never overwritten. A token no key opens is left untouched and reported by row. Works on the
    historical models a data migration gets, which is why the fields are passed in.
    """
    counts = ReencryptCounts()
    label = label or model._meta.label
    last_pk = None
    while True:
        with transaction.atomic():
            batch = model._default_manager.select_for_update().order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(batch.only("pk", *fields)[:batch_size])
            if not rows:
                return counts
            changed = [row for row in rows if _reencrypt_row(row, fields, counts, label)]
            if changed:
                model._default_manager.bulk_update(changed, list(fields))
        counts.rows += len(rows)
        last_pk = rows[-1].pk


def _reencrypt_row(row: models.Model, fields: Iterable[str], counts: ReencryptCounts, label: str) -> bool:
    changed = False
    for name in fields:
        token = getattr(row, name)
        if not token or not isinstance(token, str):
            continue  # empty, or a JSON column's plain value from before it was encrypted
        if not needs_reencrypt(token):
            counts.already_current += 1
            continue
        try:
            setattr(row, name, reencrypt(token))
        except UndecryptableSecret:
            counts.undecryptable.append(f"{label} pk={row.pk} {name}")
            logger.warning("Undecryptable secret left as it is: %s pk=%s %s", label, row.pk, name)
            continue
        counts.reencrypted += 1
        changed = True
    return changed
