"""Periodic billing work: flushing API-request counters into rollups, and pruning flush records."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import metering
from .models import FlushBatch

# A batch id only has to be remembered until a crashed flush is re-run, which the next beat does
# within a minute; a week is a wide margin.
FLUSH_BATCH_RETENTION = timedelta(days=7)


@shared_task(name="billing.flush_api_usage")
def flush_api_usage() -> int:
    """Applies the Redis counters (in the worker, without Redis, this process has none to flush)."""
    return metering.flush_api_usage()


@shared_task(name="billing.prune_flush_batches")
def prune_flush_batches() -> int:
    deleted, _ = FlushBatch.objects.filter(created_at__lt=timezone.now() - FLUSH_BATCH_RETENTION).delete()
    return deleted
