"""Encryption at rest for the signing secrets we must be able to read back.

A webhook secret cannot be hashed like an API key: every delivery is signed with it. It is stored
Fernet-encrypted (AES-128-CBC + HMAC) under a key derived from ``SECRETS_ENCRYPTION_KEYS`` when that
setting lists keys (the first encrypts, all decrypt, so keys can be rotated), else from
``SECRET_KEY``. A database dump alone therefore never reveals a secret.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]


def _fernet_key(material: str) -> bytes:
    # Domain-separated so the same SECRET_KEY used for sessions never doubles as this key.
    digest = hashlib.sha256(b"aiphone360:secrets-at-rest:" + material.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)


@functools.cache
def _box(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(m)) for m in materials])


def _current_box() -> MultiFernet:
    configured = tuple(getattr(settings, "SECRETS_ENCRYPTION_KEYS", ()) or ())
    return _box(configured or (settings.SECRET_KEY,))


def encrypt(plaintext: str) -> str:
    return _current_box().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return _current_box().decrypt(token.encode("ascii")).decode("utf-8")
