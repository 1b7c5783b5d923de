"""A WSGI app for the shedding worker's test: each request waits at a gate the test opens.

`/healthz` answers at once. Every other request leaves a `started-*` file next to the gate, so the
test knows which requests reached the app, and holds its thread until the gate file exists.
"""

import os
import time
import uuid
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()  # the worker renders its refusals with Django's template, as under config.wsgi

GATE = Path(os.environ["OVERLOAD_TEST_GATE"])


def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] != "/healthz":
        (GATE.parent / f"started-{uuid.uuid4().hex}").touch()
        while not GATE.exists():
            time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"served"]
