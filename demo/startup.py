"""`make run`'s last step: wait until the web server answers and every Celery worker has started, then print
how to reach the platform, so that block is the last thing on the screen rather than lost in start-up output."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from ops.heartbeat import BEAT, heartbeats

from .seed import DEMO_EMAIL, DEMO_PASSWORD


def banner(*, base: str, secret: str) -> str:
    return (
        "\n"
        f"  AI Phone 360 developer platform is running on {base}/\n"
        f"  Dashboard: {base}/settings/developer/   login {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
        f"  Demo test key: {secret}\n"
        f"  Try: curl -H 'Authorization: Bearer {secret}' {base}/api/public/v1/keys\n"
    )


def web_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def workers_started_since(since: float) -> int:
    """Workers whose start-up heartbeat (written on Celery's worker_ready) is at least `since`."""
    return sum(1 for name, at in heartbeats().items() if name != BEAT and at >= since)


@dataclass(frozen=True)
class Waited:
    web: bool
    workers: int


def wait_until_up(
    *,
    health_url: str,
    workers: int,
    since: float,
    timeout: float,
    poll: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Waited:
    """Poll until `health_url` answers 200 and `workers` workers have started, or `timeout` seconds pass."""
    deadline = clock() + timeout
    while True:
        state = Waited(web=web_answers(health_url), workers=workers_started_since(since))
        if (state.web and state.workers >= workers) or clock() >= deadline:
            return state
        sleep(poll)
