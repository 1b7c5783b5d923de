"""The platform's Prometheus metrics: every family recorded in-process is defined here, once.

Any app may record into these (core is below every app); `ops/` serves them at `/metrics` together with
the families read from the database, the cache and the broker at scrape time (`ops/collectors.py`).

With `PROMETHEUS_MULTIPROC_DIR` set (it must be in the environment before prometheus_client is
imported, i.e. in the Procfile's environment), each gunicorn worker and each Celery process writes
its values to files in that directory and a scrape sums them, so the figures are right whichever
worker answers. Without it (tests, `make run`) they live in this process only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No `_created` series: nothing here reads them, and they double the size of a scrape.
disable_created_metrics()

# Latency buckets: API requests are milliseconds; webhooks and tools cross the Internet (up to 15 s).
_API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_OUTBOUND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter(
    "aip_http_requests",
    "HTTP requests answered, by route template, method, status code and key mode (empty outside the API).",
    ["route", "method", "status", "mode"],
)
HTTP_LATENCY = Histogram(
    "aip_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and key mode.",
    ["route", "mode"],
    buckets=_API_BUCKETS,
)
API_REFUSALS = Counter(
    "aip_api_refusals",
    "Public-API requests refused by authentication, the access gate, scopes or the rate limit, by error code.",
    ["code"],
)
REQUESTS_SHED = Counter(
    "aip_http_requests_shed",
    "Requests the web worker refused with 503 because its process already held WEB_MAX_IN_FLIGHT.",
)

WEBHOOK_ATTEMPTS = Counter(
    "aip_webhook_attempts",
    "Webhook delivery attempts finished, by outcome (succeeded, or the delivery log's error class).",
    ["outcome"],
)
WEBHOOK_EMIT_TO_RECEIPT = Histogram(
    "aip_webhook_emit_to_receipt_seconds",
    "From an event's creation to a receiver's 2xx answer (successful attempts only, retries included).",
    buckets=_OUTBOUND_BUCKETS,
)
WEBHOOK_IN_FLIGHT = Gauge(
    "aip_webhook_requests_in_flight",
    "Webhook requests waiting for an answer, by endpoint id.",
    ["endpoint"],
    multiprocess_mode="livesum",
)

TOOL_INVOCATIONS = Counter(
    "aip_tool_invocations",
    "Custom-tool invocations finished, by status (succeeded, failed, timed_out, refused, ...).",
    ["outcome", "mode"],
)
TOOL_LATENCY = Histogram(
    "aip_tool_invocation_duration_seconds",
    "Custom-tool request latency (invocations that reached the endpoint).",
    buckets=_OUTBOUND_BUCKETS[:8],
)
TOOL_TIMEOUTS = Counter("aip_tool_timeouts", "Custom-tool invocations that timed out.")

CELERY_TASKS = Counter("aip_celery_tasks", "Celery tasks run, by task name and final state.", ["task", "state"])
CELERY_TASK_DURATION = Histogram(
    "aip_celery_task_duration_seconds",
    "Celery task run time, by task name.",
    ["task"],
    buckets=(*_API_BUCKETS, 30.0, 60.0),
)


@contextmanager
def webhook_request_in_flight(endpoint_id: str) -> Iterator[None]:
    """Count a webhook request as in flight to `endpoint_id` (its `whk_` id) while the block runs.

    For the delivery engine to wrap each POST in; the gauge is summed over live processes only."""
    gauge = WEBHOOK_IN_FLIGHT.labels(endpoint=endpoint_id)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
