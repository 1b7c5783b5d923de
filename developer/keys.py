"""API key secrets: generation, hashing and masking. Pure functions, no Django."""

import hashlib
import re
import secrets

LIVE_PREFIX = "aip_live_"
TEST_PREFIX = "aip_test_"
PREFIXES = {"live": LIVE_PREFIX, "test": TEST_PREFIX}
# 32 random bytes as url-safe base64 without padding: exactly 43 characters.
KEY_PATTERN = re.compile(r"^aip_(live|test)_[A-Za-z0-9_\-]{43}$")


def generate_secret(mode: str) -> str:
    return PREFIXES[mode] + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough: the secret carries 256 random bits, so no slow hash or salt is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mode_of(secret: str) -> str | None:
    match = KEY_PATTERN.match(secret)
    return match.group(1) if match else None


def mask(prefix: str, last4: str) -> str:
    return f"{prefix}…{last4}"
