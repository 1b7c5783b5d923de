"""Who caused a unit of usage: the API key whose request did, the dashboard, or the system.

Usage is reported by key (spec: "tagged by API key"). Work a request starts later, on another
process (a webhook attempt and its retries, a queued tool call), carries the ``Attribution`` of the
request that caused it, so it is metered under that key; work nobody's key asked for is reported
as "Dashboard" (a person's action) or "System" (the phone system, the simulator, the beat tasks).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import models

from accounts.services import Actor

SOURCE_MAX_LENGTH = 10


class UsageSource(models.TextChoices):
    API = "api", "API key"
    DASHBOARD = "dashboard", "Dashboard"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Attribution:
    """The cause of some usage: ``source`` and, for ``api``, the key's primary key (None once deleted)."""

    source: str
    api_key_id: int | None = None

    def __post_init__(self) -> None:
        if self.source not in UsageSource.values:
            raise ValueError(f"Unknown usage source {self.source!r}")
        if self.api_key_id is not None and self.source != UsageSource.API:
            raise ValueError("Only API usage names a key")


SYSTEM = Attribution(UsageSource.SYSTEM)
DASHBOARD = Attribution(UsageSource.DASHBOARD)


def by_key(api_key_id: int | None) -> Attribution:
    """Usage caused by a request of the key ``api_key_id``; without a key it is the system's."""
    return Attribution(UsageSource.API, api_key_id) if api_key_id is not None else SYSTEM


def attribution_of(actor: Actor) -> Attribution:
    """The attribution of a service's ``actor``: a key, a person (the dashboard, admin), or nobody."""
    if actor is None:
        return SYSTEM
    if isinstance(actor, User):
        return DASHBOARD
    return by_key(actor.pk)


def stored(source: str, api_key_id: int | None) -> Attribution:
    """The attribution kept on a row (an event, a delivery, an invocation) read back."""
    return Attribution(source, api_key_id if source == UsageSource.API else None)
