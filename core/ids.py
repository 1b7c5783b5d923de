"""Opaque public ids: a readable prefix plus 22 random base62 characters (about 131 bits)."""

import secrets
import string
from functools import partial

from django.db import models

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 22
_SPACE = len(_ALPHABET) ** _LENGTH


def new_public_id(prefix: str) -> str:
    # One draw below 62**22 written in base 62: every id as likely as with 22 draws of one character,
    # at a tenth of the CPU (an event writes one per delivery).
    number = secrets.randbelow(_SPACE)
    characters = []
    for _ in range(_LENGTH):
        number, digit = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(characters)


def public_id_field(prefix: str, *, unique: bool = True) -> models.CharField:
    """The column every exposed model uses instead of leaking its integer primary key.

    ``unique=False`` for the busiest tables, which declare a ``UniqueConstraint`` on it instead: on
    PostgreSQL a unique field also gets a second, ``varchar_pattern_ops`` index for LIKE queries
    that nothing runs on ids, as large as the first."""
    return models.CharField(max_length=40, unique=unique, editable=False, default=partial(new_public_id, prefix))
