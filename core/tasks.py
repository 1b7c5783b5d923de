from __future__ import annotations

from celery import shared_task

from core import statistics


@shared_task(name="core.refresh_table_statistics")
def refresh_table_statistics() -> int:
    """Planner statistics of the busiest tables (core.statistics): what autovacuum leaves undone."""
    return len(statistics.refresh())
