"""Periodic billing work: retention of flush records and raw usage records (the API-request counters are
flushed by developer.tasks). Both run on the maintenance queue (settings.MAINTENANCE_TASKS)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .metering import usage_records_prune
from .models import FlushBatch

# A batch id only has to be remembered until a crashed flush is re-run, which the next beat does
# within a minute; a week is a wide margin.
FLUSH_BATCH_RETENTION = timedelta(days=7)


@shared_task(name="billing.prune_flush_batches")
def prune_flush_batches() -> int:
    deleted, _ = FlushBatch.objects.filter(created_at__lt=timezone.now() - FLUSH_BATCH_RETENTION).delete()
    return deleted


@shared_task(name="billing.prune_usage_records")
def prune_usage_records() -> int:
    """Test-mode usage records go after 30 days, live ones once their month is settled (README "Retention")."""
    return usage_records_prune()
