"""Celery tasks for custom tools.

Tool calls run on their own queue, ``tools``, consumed by a dedicated worker pool (threads: the
work is waiting on customers' endpoints, not CPU), e.g.

    celery -A config worker --queues=tools --pool=threads --concurrency=50 --hostname=tools@%h

so a burst of slow endpoints can occupy only that pool — never the web workers, and never the
default queue's workers that deliver webhooks and flush metering. The broker carries only the
invocation's primary key; the row is the record, and a beat task fails rows nobody ran.
"""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="agents.invoke_tool", acks_late=True, ignore_result=True)
def invoke_tool(invocation_pk: int) -> None:
    services.tool_invocation_run(invocation_pk=invocation_pk)


@shared_task(name="agents.expire_invocations", ignore_result=True)
def expire_invocations() -> None:
    services.invocations_expire()


@shared_task(name="agents.prune_invocations", ignore_result=True)
def prune_invocations() -> None:
    services.invocations_prune()
