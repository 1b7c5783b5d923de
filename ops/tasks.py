"""Celery tasks of ops: thin wrappers, one service each."""

from __future__ import annotations

from celery import shared_task

from . import alerts, heartbeat


@shared_task(name="ops.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Scheduled by beat every 30 s: its arrival proves beat schedules and a worker runs tasks."""
    heartbeat.beat(heartbeat.BEAT, force=True)


@shared_task(name="ops.evaluate_alerts", ignore_result=True)
def evaluate_alerts() -> None:
    alerts.alerts_evaluate()
