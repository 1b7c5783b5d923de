"""Periodic work for the developer app: request-log flushing and retention, API-request counter flushing."""

from __future__ import annotations

from celery import shared_task

from .public_api import apicount, request_log


@shared_task(name="developer.flush_request_logs")
def flush_request_logs() -> int:
    """Drains the shared Redis buffer even when no web process is flushing (the in-process buffer of a
    web process is flushed by that process's own thread; in the worker this is then a no-op)."""
    return request_log.flush()


@shared_task(name="developer.prune_request_logs")
def prune_request_logs() -> int:
    """Request logs are kept for 30 days."""
    return request_log.prune()


@shared_task(name="developer.flush_api_usage")
def flush_api_usage() -> int:
    """Applies the Redis counters to billing's rollups (in the worker, without Redis, this process has none to flush)."""
    return apicount.flush_api_usage()
