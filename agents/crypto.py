"""Encryption at rest for the tool credentials and tool-call signing secrets we must read back.

A bearer token or a basic-auth password is sent on every tool call, so it cannot be hashed: it is
Fernet-encrypted (AES-128-CBC + HMAC-SHA256) under ``FIELD_ENCRYPTION_KEY``. The setting may hold
a Fernet key (44 url-safe base64 characters) or any passphrase, which is stretched with
HKDF-SHA256; left empty it is derived the same way from ``SECRET_KEY`` so development works with
no configuration. ``FIELD_ENCRYPTION_OLD_KEYS`` lists retired keys that still decrypt, so the key
can be rotated: set the new key, move the old one there, and run ``manage.py reencrypt_tool_secrets``.
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet_key"]

# Domain separation: the same SECRET_KEY that signs sessions never doubles as this key.
_HKDF_INFO = b"aiphone360:agents:field-encryption:v1"


def fernet_key(material: str) -> bytes:
    """``material`` itself when it already is a Fernet key, else a key derived from it with HKDF."""
    try:
        if len(base64.urlsafe_b64decode(material.encode("ascii"))) == 32 and len(material) == 44:
            return material.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


@functools.cache
def _box(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(fernet_key(m)) for m in materials])


def _current_box() -> MultiFernet:
    current = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    old = tuple(getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", ()) or ())
    return _box((current, *old))


def encrypt(plaintext: str) -> str:
    return _current_box().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return _current_box().decrypt(token.encode("ascii")).decode("utf-8")


def reencrypt(token: str) -> str:
    """The same plaintext under the current key (for key rotation)."""
    return _current_box().rotate(token.encode("ascii")).decode("ascii")
