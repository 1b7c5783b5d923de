"""Where ops listens to the other apps, at narrow seams only (connected once, in `OpsConfig.ready`):

* webhook attempts: an observer of the outbound client (`core.outbound.observers`) sees every delivery
  POST and counts its outcome the way the delivery log classifies it (`webhooks.policy`), and the
  event's emit-to-receipt time from the `createdAt` in the body. Attempts are written in bulk
  (bulk_create, then UPDATEs), so no model signal would see them;
* tool invocations: `post_save` of a finished `ToolInvocation`;
* Celery: the request id travels in a message header into the tasks a request starts; workers beat
  into the cache; a finished metering flush is remembered; a prefork child that exits is marked dead
  for the multiprocess metrics.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from celery import signals as celery_signals
from django.db.models.signals import post_save
from django.utils import timezone

from agents.models import ToolInvocation
from core import metrics, outbound
from webhooks import policy

from . import heartbeat, logs

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "aip_request_id"
FLUSH_TASKS = frozenset({"developer.flush_api_usage"})
# The body starts `{"id":"evt_…","type":"…","createdAt":"2026-…Z"`: read the time without parsing the JSON.
_CREATED_AT = re.compile(rb'"createdAt"\s*:\s*"([0-9T:.\-]+Z)"')


# ---------------------------------------------------------------------------------------------
# Webhook attempts


def webhook_outcome(response: outbound.OutboundResponse | None, error: BaseException | None) -> str:
    if response is not None:
        outcome = policy.classify_response(response.status, response.headers, now=timezone.now())
    elif isinstance(error, outbound.OutboundRefused):
        outcome = policy.classify_error("refused", "")
    elif isinstance(error, outbound.OutboundError):
        outcome = policy.classify_error(error.kind, "")
    else:
        outcome = policy.classify_error("error", "")
    return "succeeded" if outcome.succeeded else outcome.error_class


def emitted_at(body: bytes) -> datetime | None:
    found = _CREATED_AT.search(body, 0, 512)
    if not found:
        return None
    try:
        return datetime.fromisoformat(found.group(1).decode())
    except ValueError:
        return None


def observe_webhook(url: str, headers: Mapping[str, str], body: bytes) -> outbound.Finish | None:
    if "X-AIP-Delivery-Id" not in headers:
        return None  # a tool call: counted from its invocation row

    def finish(response: outbound.OutboundResponse | None, error: BaseException | None) -> None:
        try:
            outcome = webhook_outcome(response, error)
            metrics.WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
            created = emitted_at(body) if outcome == "succeeded" else None
            if created is not None:
                metrics.WEBHOOK_EMIT_TO_RECEIPT.observe(max((timezone.now() - created).total_seconds(), 0.0))
        except Exception:  # metrics never break a delivery
            logger.warning("could not record a webhook attempt metric", exc_info=True)

    return finish


# ---------------------------------------------------------------------------------------------
# Tool invocations


def observe_tool_invocation(sender: Any, instance: ToolInvocation, update_fields: Any = None, **kwargs: Any) -> None:
    finished = instance.finished_at is not None and (update_fields is None or "finished_at" in update_fields)
    if not finished or instance.status in (ToolInvocation.Status.PENDING, ToolInvocation.Status.RUNNING):
        return
    metrics.TOOL_INVOCATIONS.labels(outcome=instance.status, mode=instance.mode).inc()
    if instance.latency_ms is not None:
        metrics.TOOL_LATENCY.observe(instance.latency_ms / 1000)
    if instance.error_code == "timeout":
        metrics.TOOL_TIMEOUTS.inc()


# ---------------------------------------------------------------------------------------------
# Celery


def add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers[REQUEST_ID_HEADER] = request_id


_task_tokens: dict[str, Any] = {}
_task_started: dict[str, float] = {}


def bind_task_context(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    request = getattr(task, "request", None)
    # A worker merges the message's headers into the task's request; `apply` keeps them apart.
    request_id = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        REQUEST_ID_HEADER
    )
    # Eager tasks (tests, `make run`'s demo) run inside the request: keep its context.
    parent = logs.current.get()
    if request_id is None and parent is not None and parent.request_id:
        request_id = parent.request_id
    context = logs.LogContext(request_id=request_id, task=getattr(task, "name", None), task_id=task_id)
    if parent is not None:
        context.organization_id, context.key_id = parent.organization_id, parent.key_id
        context.request = parent.request
    _task_tokens[task_id] = logs.current.set(context)
    _task_started[task_id] = time.perf_counter()


def unbind_task_context(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        logs.current.reset(token)
    name = getattr(task, "name", None) or "unknown"
    started = _task_started.pop(task_id, None)
    metrics.CELERY_TASKS.labels(task=name, state=str(kwargs.get("state") or "UNKNOWN")).inc()
    if started is not None:
        metrics.CELERY_TASK_DURATION.labels(task=name).observe(time.perf_counter() - started)
    if getattr(task, "name", None) in FLUSH_TASKS and kwargs.get("state") == "SUCCESS":
        heartbeat.record_flush()


def worker_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    hostname = getattr(getattr(sender, "eventer", None), "hostname", None) or getattr(sender, "hostname", None)
    if hostname:
        try:
            heartbeat.beat(str(hostname))
        except Exception:
            logger.warning("could not write the worker heartbeat", exc_info=True)


def worker_ready(sender: Any = None, **kwargs: Any) -> None:
    hostname = getattr(sender, "hostname", None)
    if hostname:
        heartbeat.beat(str(hostname), force=True)


def child_exited(pid: int | None = None, **kwargs: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def connect() -> None:
    if observe_webhook not in outbound.observers:
        outbound.observers.append(observe_webhook)
    post_save.connect(observe_tool_invocation, sender=ToolInvocation, dispatch_uid="ops.tool_invocation_metrics")
    celery_signals.before_task_publish.connect(add_request_id, dispatch_uid="ops.add_request_id")
    celery_signals.task_prerun.connect(bind_task_context, dispatch_uid="ops.bind_task_context")
    celery_signals.task_postrun.connect(unbind_task_context, dispatch_uid="ops.unbind_task_context")
    celery_signals.heartbeat_sent.connect(worker_heartbeat, dispatch_uid="ops.worker_heartbeat")
    celery_signals.worker_ready.connect(worker_ready, dispatch_uid="ops.worker_ready")
    celery_signals.worker_process_shutdown.connect(child_exited, dispatch_uid="ops.child_exited")
