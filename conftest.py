"""Root conftest: puts the project on sys.path and gives each xdist worker its own Redis databases.

pytest-django reads the settings before any conftest is imported, so the worker's databases are
set on the settings object here, before anything has opened a Redis connection or read the Celery
configuration. Workers share one Redis server; without this, one worker's reset of the rate
limiter or the API counter would wipe another's keys mid-test.
"""

from __future__ import annotations

import os
import re

from django.conf import settings

# gw0 keeps the databases CI names (15 and 14); gw1 gets 13 and 12, and so on down to 0.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _shifted(url: str, index: int) -> str:
    match = re.match(r"^(redis://[^/]+)/(\d+)$", url)
    if not match or index == 0:
        return url
    db = int(match.group(2)) - 2 * index
    if db < 0:
        raise RuntimeError(f"too many xdist workers for Redis database {match.group(2)} in {url}")
    return f"{match.group(1)}/{db}"


if _WORKER.startswith("gw") and settings.configured:
    _index = int(_WORKER[2:])
    settings.REDIS_URL = _shifted(settings.REDIS_URL, _index)
    settings.CELERY_BROKER_URL = _shifted(settings.CELERY_BROKER_URL, _index)
    if settings.REDIS_URL and settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        settings.CACHES["default"]["LOCATION"] = settings.REDIS_URL
    os.environ["REDIS_URL"] = settings.REDIS_URL  # subprocesses (workers, bench servers) inherit these
    os.environ["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
