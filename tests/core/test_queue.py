"""core.queue: a task goes to the broker by name, without the sender importing the apps' tasks modules."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from core.queue import enqueue
from tests.conftest import redis_available

# A process as a web process is: Django set up, no tasks module imported. It enqueues one turn and says
# which modules the call imported.
SENDER = r"""
import json, sys
import django

django.setup()
from core.queue import enqueue

enqueue("webhooks.turn", 7, "fast", queue=sys.argv[1], countdown=30)
print(json.dumps({name: name in sys.modules for name in ("webhooks.tasks", "agents.tasks", "config.urls")}))
"""


@pytest.mark.skipif(not redis_available(), reason="needs Redis as the broker the sender writes to")
def test_a_task_is_sent_by_name_and_the_sender_imports_no_tasks_module(tmp_path: Path) -> None:
    import redis

    broker = os.environ.get("CELERY_BROKER_URL") or settings.REDIS_URL
    queue = f"test-enqueue-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    client = redis.Redis.from_url(broker)
    try:
        done = subprocess.run(
            [sys.executable, "-c", SENDER, queue],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        # Looking the task up would have imported every app's tasks module, and with them the URL
        # configuration (Celery's Django fix-up runs the system checks): ~0.4 s of CPU on a first call.
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {
            "webhooks.tasks": False,
            "agents.tasks": False,
            "config.urls": False,
        }
        raw = client.lpop(queue)
        assert isinstance(raw, bytes), "no message on the queue"
        message = json.loads(raw)
        assert message["headers"]["task"] == "webhooks.turn"
        assert message["headers"]["eta"]  # the countdown went with it
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert (args, kwargs) == ([7, "fast"], {})
        assert client.llen(queue) == 0  # sent once
    finally:
        client.delete(queue)


def test_in_eager_mode_the_task_runs_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from webhooks import tasks

    ran: list[tuple[int, str]] = []
    monkeypatch.setattr(
        tasks.delivery, "deliveries_turn", lambda *, organization_id, lane: ran.append((organization_id, lane))
    )
    assert settings.CELERY_TASK_ALWAYS_EAGER
    enqueue("webhooks.turn", 7, "fast", queue="webhooks")
    assert ran == [(7, "fast")]
