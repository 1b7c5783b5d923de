"""A WSGI app for the shedding worker's test: it answers what the worker decided, or works 200 ms."""

import time
from typing import Any

from developer.overload import QUEUE_SECONDS_KEY, SHED_KEY


def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    shed = environ.get(SHED_KEY)
    if shed:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [f"{shed} {environ[QUEUE_SECONDS_KEY]:.3f}".encode()]
    time.sleep(0.2)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"served"]
