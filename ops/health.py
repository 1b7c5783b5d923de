"""/healthz and /readyz for load balancers and orchestrators: cheap, unauthenticated, nothing sensitive.

`/healthz` says the process answers (no I/O at all): restart the instance when it fails. `/readyz` says
this instance can serve: the database answers, Redis answers (when `REDIS_URL` is set), the broker
accepts a connection and every migration on disk is applied; take the instance out of rotation while
it fails. Each check reports only "ok" or "fail" (the reason goes to the log, never to the caller, so
no host name, driver message or version leaks).

Our own rather than django-health-check: four checks, no extra dependency, and the answers are made
before host validation and the HTTPS redirect (see `ops.middleware`), which a probe hitting the
instance's IP over plain HTTP needs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

# Broker and Redis checks give up after this long, so a probe never hangs on a dead dependency.
CHECK_TIMEOUT_SECONDS = 2.0

# Once every migration is applied in this process it stays so (a new release runs new processes):
# the migration graph is read from disk only until then.
_migrations_applied = False


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> None:
    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


def check_broker() -> None:
    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def check_migrations() -> None:
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migrations not applied")
    _migrations_applied = True


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
    "migrations": check_migrations,
}


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        if name == "migrations" and results.get("database") == "fail":
            results[name] = "fail"  # cannot be read without the database
            continue
        started = time.monotonic()
        try:
            check()
        except Exception:
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "fail"
        else:
            results[name] = "ok"
        elapsed = time.monotonic() - started
        if elapsed > 1:
            logger.warning("readiness check %s took %.1f s", name, elapsed)
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
