"""Start a Celery task by its registered name.

For the few places where a lower layer must start a higher layer's task (or a module must start a
task of its own app without importing the tasks module that imports it back). The task is sent by
name (``send_task``): the sending process need not have imported it. Looking it up instead would make
a process that never imported the apps' tasks modules (a web process, an emitter) import them all on
its first call, and Celery's Django fix-up runs the system checks with them: about 0.4 s of CPU,
holding up that first task (a webhook turn, a tool call) and every one its flag gathers.

In eager mode (tests) the task is looked up and run in-process, as `.delay()` would.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from celery.exceptions import NotRegistered
from celery.result import AsyncResult


def enqueue(task_name: str, *args: Any, **options: Any) -> AsyncResult:
    """`enqueue("webhooks.turn", organization_id, "fast", queue="webhooks")`: positional args are the task's, keywords are
    `send_task` options (queue, countdown)."""
    app = current_app
    if not app.conf.task_always_eager:
        return app.send_task(task_name, args=args, **options)
    try:
        task = app.tasks[task_name]
    except NotRegistered:
        # Outside a worker the apps' tasks modules are discovered lazily: import them, then look again.
        app.loader.import_default_modules()
        task = app.tasks[task_name]
    return task.apply_async(args=args, **options)
