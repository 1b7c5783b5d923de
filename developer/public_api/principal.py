"""What a public-API request knows about its key: a small frozen value, cached, never the model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from developer.models import ApiKey


@dataclass(frozen=True)
class KeyPrincipal:
    """What a request knows about its key: enough for the gate, scopes and tenancy, no model."""

    id: int
    public_id: str
    organization_id: int
    name: str
    mode: str
    scopes: frozenset[str]
    masked: str
    expires_at: datetime | None
    revoked: bool

    # DRF treats request.user as a user object.
    is_authenticated = True

    @property
    def is_live(self) -> bool:
        return self.mode == "live"

    def usable(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


def principal_for(key: ApiKey) -> KeyPrincipal:
    return KeyPrincipal(
        id=key.pk,
        public_id=key.public_id,
        organization_id=key.organization_id,
        name=key.name,
        mode=key.mode,
        scopes=frozenset(key.scopes),
        masked=key.masked,
        expires_at=key.expires_at,
        revoked=key.revoked_at is not None,
    )
