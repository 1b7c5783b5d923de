"""Periodic billing work: pruning flush records (the API-request counters are flushed by developer.tasks)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import FlushBatch

# A batch id only has to be remembered until a crashed flush is re-run, which the next beat does
# within a minute; a week is a wide margin.
FLUSH_BATCH_RETENTION = timedelta(days=7)


@shared_task(name="billing.prune_flush_batches")
def prune_flush_batches() -> int:
    deleted, _ = FlushBatch.objects.filter(created_at__lt=timezone.now() - FLUSH_BATCH_RETENTION).delete()
    return deleted
