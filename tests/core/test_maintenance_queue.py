"""Upkeep runs on its own queue and worker line, never in front of webhook deliveries."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from config.celery import app


def _procfile_queues() -> dict[str, set[str]]:
    lines = Path(settings.BASE_DIR, "Procfile").read_text().splitlines()
    found = {}
    for line in lines:
        name, _, command = line.partition(":")
        queues = re.search(r"--queues=(\S+)", command)
        if "celery" in command and " worker " in command and queues:
            found[name] = set(queues.group(1).split(","))
    return found


def test_every_scheduled_upkeep_task_routes_to_the_maintenance_queue() -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    upkeep = {task for task in scheduled if re.search(r"\.(prune|flush|expire)_", task)}
    assert upkeep <= set(settings.MAINTENANCE_TASKS)
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker imports them
    router = app.amqp.router
    for task in settings.MAINTENANCE_TASKS:
        assert task in app.tasks, task  # a real task name, not a typo that routes nothing
        assert router.route({}, task)["queue"].name == "maintenance", task
    assert router.route({}, "webhooks.sweep")["queue"].name == "default"  # recovery stays on the delivery path


def test_the_procfile_runs_one_worker_for_maintenance_and_keeps_it_off_the_delivery_worker() -> None:
    queues = _procfile_queues()
    assert queues["maintenance"] == {"maintenance"}
    assert "maintenance" not in queues["worker"]
    make_run = re.search(r"--queues=(\S+)", Path(settings.BASE_DIR, "Makefile").read_text())
    assert make_run and "maintenance" in make_run.group(1).split(",")  # `make run`'s one worker does both
