"""The wire dict of an API key (never its secret)."""

from __future__ import annotations

from typing import Any

from core.timefmt import iso

from .models import ApiKey


def api_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.public_id,
        "name": key.name,
        "mode": key.mode,
        "maskedKey": key.masked,
        "scopes": list(key.scopes),
        "status": key.status(),
        "createdAt": iso(key.created_at),
        "lastUsedAt": iso(key.last_used_at),
        "expiresAt": iso(key.expires_at),
        "revokedAt": iso(key.revoked_at),
    }
