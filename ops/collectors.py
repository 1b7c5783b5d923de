"""Metric families read at scrape time from the database, the cache and the broker.

Computed by whichever process answers `/metrics` (so they are right under any number of workers)
from cheap indexed queries; a source that fails is skipped and flagged in
`aip_metrics_collector_errors`, so a scrape still answers while the database or broker is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from celery import current_app
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from developer.public_api.apicount import RedisApiCounter, api_counter
from webhooks.models import Delivery

from . import heartbeat

logger = logging.getLogger(__name__)

QUEUES = ("default", "tools")  # the Procfile's worker queues


def webhook_backlog() -> Iterator[Metric]:
    now = timezone.now()
    counts = dict(
        Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.HELD])
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    deliveries = GaugeMetricFamily(
        "aip_webhook_deliveries", "Webhook deliveries not finished, by status.", labels=["status"]
    )
    for status in (Delivery.Status.PENDING, Delivery.Status.HELD):
        deliveries.add_metric([status.value], counts.get(status, 0))
    yield deliveries
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).aggregate(
        n=Count("id"), oldest=Min("next_attempt_at")
    )
    yield GaugeMetricFamily(
        "aip_webhook_deliveries_due", "Pending webhook deliveries whose attempt is due now.", value=due["n"]
    )
    oldest = due["oldest"]
    yield GaugeMetricFamily(
        "aip_webhook_oldest_pending_age_seconds",
        "How long the oldest due pending webhook delivery has waited since it became due (0: none waiting).",
        value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
    )


def metering() -> Iterator[Metric]:
    last = heartbeat.last_flush()
    if last is not None:
        yield GaugeMetricFamily(
            "aip_metering_last_flush_timestamp_seconds", "When the API-request counters were last flushed.", value=last
        )
        yield GaugeMetricFamily(
            "aip_metering_seconds_since_last_flush",
            "Seconds since the API-request counters were last flushed.",
            value=max(time.time() - last, 0.0),
        )
    counter = api_counter()
    if isinstance(counter, RedisApiCounter):  # a per-process buffer says nothing about the others
        yield GaugeMetricFamily(
            "aip_metering_pending_requests",
            "API requests counted but not yet flushed into usage and billing.",
            value=sum(counter.pending().values()),
        )


def queues() -> Iterator[Metric]:
    family = GaugeMetricFamily("aip_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"])
    with current_app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        channel = connection.default_channel
        for name in QUEUES:
            try:
                _, count, _ = channel.queue_declare(queue=name, passive=True)
            except connection.channel_errors:
                count = 0  # not declared yet: no worker ever consumed it, nothing sent
            family.add_metric([name], count)
    yield family


def heartbeats() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "aip_worker_last_heartbeat_timestamp_seconds",
        'When each Celery worker (and beat, worker="beat") last reported itself alive.',
        labels=["worker"],
    )
    for name, at in sorted(heartbeat.heartbeats().items()):
        family.add_metric([name], at)
    yield family


SOURCES: dict[str, Callable[[], Iterator[Metric]]] = {
    "webhooks": webhook_backlog,
    "metering": metering,
    "queues": queues,
    "heartbeats": heartbeats,
}


class OpsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "aip_metrics_collector_errors", "1 when a scrape-time source failed in this scrape.", labels=["collector"]
        )
        for name, source in SOURCES.items():
            try:
                families = list(source())
            except Exception:
                logger.warning("metrics source %s failed", name, exc_info=True)
                errors.add_metric([name], 1)
                continue
            errors.add_metric([name], 0)
            yield from families
        yield errors
