"""Periodic work for the developer app: request-log flushing and retention."""

from __future__ import annotations

from celery import shared_task

from . import request_log


@shared_task(name="developer.flush_request_logs")
def flush_request_logs() -> int:
    """Drains the shared Redis buffer even when no web process is flushing (the in-process buffer of a
    web process is flushed by that process's own thread; in the worker this is then a no-op)."""
    return request_log.flush()


@shared_task(name="developer.prune_request_logs")
def prune_request_logs() -> int:
    """Request logs are kept for 30 days."""
    return request_log.prune()
