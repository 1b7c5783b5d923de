"""Start a Celery task by its registered name.

For the few places where a lower layer must start a higher layer's task (or a module must start a
task of its own app without importing the tasks module that imports it back). The task is looked up
in the app's registry and sent with `apply_async`, so eager mode in tests behaves as `.delay()` does.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from celery.exceptions import NotRegistered
from celery.result import AsyncResult


def enqueue(task_name: str, *args: Any, **options: Any) -> AsyncResult:
    """`enqueue("webhooks.turn", organization_id, "fast", queue="webhooks")`: positional args are the task's, keywords are
    `apply_async` options."""
    try:
        task = current_app.tasks[task_name]
    except NotRegistered:
        # Outside a worker the apps' tasks modules are discovered lazily: import them, then look again.
        current_app.loader.import_default_modules()
        task = current_app.tasks[task_name]
    return task.apply_async(args=args, **options)
