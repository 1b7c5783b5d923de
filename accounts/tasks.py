"""Periodic accounts work: audit-entry retention, on the maintenance queue (settings.MAINTENANCE_TASKS)."""

from __future__ import annotations

from celery import shared_task

from .services import audit_prune


@shared_task(name="accounts.prune_audit_entries")
def prune_audit_entries() -> int:
    """Audit entries are kept AUDIT_RETENTION_DAYS (365 by default)."""
    return audit_prune()
