"""Gunicorn hooks, loaded by the Procfile's `--config python:config.gunicorn`.

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics to files there; a worker that
exits is marked dead so its live gauges (requests in flight) stop counting. Its counters stay, as
they must: they are part of the totals.
"""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
