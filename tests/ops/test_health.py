"""/healthz and /readyz: JSON, unauthenticated, answered for any Host over plain HTTP, nothing sensitive."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from celery import current_app
from django.db import OperationalError, connections
from django.test import Client, override_settings

from ops import health

pytestmark = pytest.mark.django_db


def get(path: str, **extra: Any) -> Any:
    response: Any = Client().get(path, **extra)
    response.body = json.loads(response.content)
    return response


def test_healthz_answers_without_touching_anything() -> None:
    with mock.patch.object(connections["default"], "cursor", side_effect=OperationalError("down")):
        response = get("/healthz")
    assert response.status_code == 200
    assert response.body == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


def test_readyz_reports_every_dependency() -> None:
    response = get("/readyz")
    assert response.status_code == 200
    assert response.body == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "broker": "ok", "migrations": "ok"},
    }


def test_readyz_with_the_database_down_is_503_and_says_nothing_more(caplog: pytest.LogCaptureFixture) -> None:
    health._migrations_applied = False
    message = "could not connect to server at db.internal:5432 password=hunter2"
    with mock.patch.object(connections["default"], "cursor", side_effect=OperationalError(message)):
        response = get("/readyz")
    assert response.status_code == 503
    assert response.body["status"] == "unavailable"
    assert response.body["checks"]["database"] == "fail"
    assert response.body["checks"]["migrations"] == "fail"  # cannot be read without the database
    assert b"db.internal" not in response.content and b"hunter2" not in response.content
    assert "readiness check database failed" in caplog.text  # the reason is for the operator's log
    assert get("/readyz").status_code == 200  # and it recovers with the database


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_with_redis_unreachable() -> None:
    response = get("/readyz")
    assert response.status_code == 503
    assert response.body["checks"] == {"database": "ok", "redis": "fail", "broker": "ok", "migrations": "ok"}
    assert b"127.0.0.1" not in response.content


def test_readyz_with_the_broker_unreachable() -> None:
    conf = current_app.conf
    previous = conf.broker_url, conf.broker_write_url
    conf.broker_url = conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = get("/readyz")
    finally:
        conf.broker_url, conf.broker_write_url = previous
    assert response.status_code == 503
    assert response.body["checks"]["broker"] == "fail"


def test_readyz_with_a_migration_not_applied() -> None:
    health._migrations_applied = False
    with mock.patch("ops.health.MigrationExecutor") as executor:
        executor.return_value.migration_plan.return_value = [("webhooks", "0099_new")]
        response = get("/readyz")
    assert response.status_code == 503
    assert response.body["checks"]["migrations"] == "fail"


@override_settings(ALLOWED_HOSTS=["api.aiphone360.com"], SECURE_SSL_REDIRECT=True)
def test_probes_answer_a_load_balancer_asking_by_ip_over_http() -> None:
    # The balancer sends its target's address as Host and speaks plain HTTP inside the network.
    for path in ("/healthz", "/readyz"):
        assert get(path, HTTP_HOST="10.0.3.7:8000").status_code == 200
    # Everything else still validates the host.
    assert Client().get("/settings/developer/", HTTP_HOST="10.0.3.7:8000").status_code == 400
