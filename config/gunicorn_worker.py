"""Gunicorn's threaded worker, refusing work it cannot start soon instead of queueing it.

The stock gthread worker hands every readable connection to an unbounded thread-pool queue: offered
more than it can serve, requests wait minutes and completions collapse. This worker decides, per
request, whether to serve it or to shed it, and leaves the answer to Django (`developer.overload`),
which renders the 503 in the API's envelope or as a page:

- **busy**: when a request arrives, the process already holds `WEB_MAX_IN_FLIGHT` requests (queued
  or running; default four per thread), so a new one could only wait;
- **queued**: a thread picked the request up after it had waited longer than `WEB_MAX_QUEUE_MS`
  (default 500): its answer would be late anyway, and serving it would delay the ones behind it.

A shed request costs one short trip through the first middlewares, so the threads stay free for the
requests that are served. Opt in with `--worker-class config.gunicorn_worker.SheddingWorker`; it is not
in the Procfile until bench/overload.py passes (README, "Overload").
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from developer.overload import QUEUE_SECONDS_KEY, SHED_KEY

_current = threading.local()


class _Stamped:
    """The WSGI app with the worker's decision for this thread's request written into environ."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ[SHED_KEY], environ[QUEUE_SECONDS_KEY] = getattr(_current, "decision", (None, 0.0))
        return self.app(environ, start_response)


class SheddingWorker(ThreadWorker):
    def init_process(self) -> None:
        threads = max(1, int(self.cfg.threads))
        self.max_in_flight = int(os.environ.get("WEB_MAX_IN_FLIGHT") or threads * 4)
        self.max_queue_seconds = float(os.environ.get("WEB_MAX_QUEUE_MS") or 500) / 1000
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi: Any = _Stamped(self.wsgi)

    def enqueue_req(self, conn: Any) -> None:
        # Runs on the main thread; `futures` holds every request queued or running in this process.
        conn.arrived_at = time.monotonic()
        conn.shed = "busy" if len(self.futures) >= self.max_in_flight else None
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        waited = time.monotonic() - getattr(conn, "arrived_at", time.monotonic())
        shed = getattr(conn, "shed", None) or ("queued" if waited > self.max_queue_seconds else None)
        _current.decision = (shed, waited)
        try:
            return super().handle(conn)
        finally:
            _current.decision = (None, 0.0)
