"""`/metrics` in Prometheus' text format, for a scraper holding `METRICS_TOKEN`.

Without `METRICS_TOKEN` the path does not exist (404). With `PROMETHEUS_MULTIPROC_DIR` set the
in-process families (`core.metrics`) are summed over every process that wrote into that directory:
the gunicorn workers and, on the same host, the Celery workers; the scrape-time families
(`ops.collectors`) are added to them.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from .collectors import OpsCollector


class _ProcessRegistry(Collector):
    """This process's default registry, when there is no multiprocess directory."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def build_registry(multiproc_dir: str | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    directory = multiproc_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ProcessRegistry())
    registry.register(OpsCollector())
    return registry


def authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    # Compared as bytes in constant time, so the answer's timing says nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponseNotFound("Not Found\n", content_type="text/plain")
    if not authorized(request):
        return HttpResponse(
            "Unauthorized\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(
        generate_latest(build_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4, headers={"Cache-Control": "no-store"}
    )
