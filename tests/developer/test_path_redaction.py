"""A key or whsec_ secret pasted into a URL path is redacted wherever the path is stored or shown:
the request-log row, the gunicorn access log, error logs, the dashboard log pages and the admin."""

from __future__ import annotations

import importlib
import logging
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from developer.logging import redact_path
from developer.models import RequestLog
from developer.public_api import request_log
from tests.conftest import ApiClient, make_key
from tests.procfile import procfile_arguments
from tests.webhooks.receiver import Receiver

PASSWORD = "correct-horse-battery"
LOGS = "/settings/developer/logs/"


def _flushed(request_id: str) -> RequestLog:
    request_log.flush()
    return RequestLog.objects.get(request_id=request_id)


def _old_row(org: Organization | None, path: str) -> RequestLog:
    """A row as versions before the redaction wrote it: the path holds the secret in full."""
    return RequestLog.objects.create(
        request_id=f"req_{uuid.uuid4().hex[:22]}",
        organization=org,
        method="GET",
        path=path,
        status_code=404,
        error_code="RESOURCE_NOT_FOUND",
        latency_ms=3.5,
        created_at=timezone.now() - timedelta(minutes=1),
    )


@pytest.fixture
def leaked(org: Organization) -> str:
    """A real live key of the organisation, the kind a developer pastes into a URL by mistake."""
    return make_key(org, name="Leaked")


# --- the pure helper -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/api/public/v1/calls/aip_live_" + "A" * 43, "/api/public/v1/calls/aip_live_[REDACTED]"),
        ("/api/public/v1/aip_test_" + "b-_9" * 10 + "xyz/calls", "/api/public/v1/aip_test_[REDACTED]/calls"),
        ("/api/public/v1/webhooks/whsec_" + "c" * 43 + "/test", "/api/public/v1/webhooks/whsec_[REDACTED]/test"),
        ("/api/public/v1/x/key=aip_live_short.json", "/api/public/v1/x/key=aip_live_[REDACTED].json"),
        ("/api/public/v1/calls/call_123", "/api/public/v1/calls/call_123"),
        ("/api/public/v1/calls/aip_live_[REDACTED]", "/api/public/v1/calls/aip_live_[REDACTED]"),
    ],
)
def test_redact_path_masks_keys_and_signing_secrets_anywhere_in_a_path(path: str, shown: str) -> None:
    assert redact_path(path) == shown
    assert redact_path(shown) == shown


# --- what the request log stores ---------------------------------------------------------------------------


def test_live_key_in_the_path_is_redacted_in_the_request_log_row(api: ApiClient, leaked: str) -> None:
    response = api.get(f"/calls/{leaked}")
    assert response.status_code == 404
    entry = _flushed(response["X-Request-Id"])
    assert entry.path == "/api/public/v1/calls/aip_live_[REDACTED]"
    row = RequestLog.objects.filter(pk=entry.pk).values().get()
    assert not any(leaked in str(value) or leaked[-20:] in str(value) for value in row.values())


def test_whsec_secret_in_a_webhook_path_is_redacted_in_the_request_log_row(api: ApiClient, receiver: Receiver) -> None:
    created = api.post("/webhooks", {"url": receiver.url, "events": ["*"]})
    assert created.status_code == 201, created.body
    secret = created.body["data"]["secret"]
    assert secret.startswith("whsec_")

    response = api.get(f"/webhooks/{secret}/deliveries")
    assert response.status_code == 404
    entry = _flushed(response["X-Request-Id"])
    assert entry.path == "/api/public/v1/webhooks/whsec_[REDACTED]/deliveries"
    assert secret not in str(RequestLog.objects.filter(pk=entry.pk).values().get())


def test_unknown_route_with_a_key_in_the_path_is_logged_and_answered_redacted(
    api: ApiClient, org: Organization
) -> None:
    other = make_key(org, mode="test", name="Also leaked")
    response = api.post(f"/does/not/exist/{other}", {"a": 1})
    assert response.status_code == 404
    assert response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert other not in response.content.decode()
    assert "/does/not/exist/aip_test_[REDACTED]" in response.body["error"]["message"]
    entry = _flushed(response["X-Request-Id"])
    assert entry.path == "/api/public/v1/does/not/exist/aip_test_[REDACTED]"


def test_entries_buffered_unredacted_are_redacted_when_flushed(org: Organization, leaked: str) -> None:
    request_id = f"req_{uuid.uuid4().hex[:22]}"
    request_log.insert_entries(
        [
            {
                "request_id": request_id,
                "at": timezone.now().isoformat(),
                "method": "GET",
                "path": f"/api/public/v1/calls/{leaked}",
                "status": 404,
                "latency_ms": 1.0,
                "org_id": org.pk,
            }
        ]
    )
    assert RequestLog.objects.get(request_id=request_id).path == "/api/public/v1/calls/aip_live_[REDACTED]"


# --- the access log and error logs ------------------------------------------------------------------------


def test_gunicorn_access_log_as_the_procfile_configures_it_has_no_secret(
    leaked: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from gunicorn.config import Config  # type: ignore[import-untyped]

    cfg = Config()
    for name, value in vars(cfg.parser().parse_args(procfile_arguments("web")[2:])).items():
        if value is not None and name != "args":
            cfg.set(name.lower(), value)
    logger = cfg.logger_class(cfg)

    path = f"/api/public/v1/calls/{leaked}"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path.replace("_", "%5F") + f"?api_key={leaked}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": path,
        "QUERY_STRING": f"api_key={leaked}",
        "REMOTE_ADDR": "203.0.113.9",
    }
    response = SimpleNamespace(status="404 Not Found", sent=120, headers=[("Content-Type", "application/json")])
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {leaked}")])
    logger.access(response, request, environ, timedelta(microseconds=1500))
    logger.error("Invalid request line %s", path)

    written = capsys.readouterr()
    output = written.out + written.err
    assert '"GET /api/public/v1/calls/aip_live_[REDACTED]" 404 120' in output
    assert leaked not in output and leaked[9:] not in output
    # Every atom is redacted, whatever format an operator chooses: the raw request line and headers too.
    atoms = logger.atoms(response, request, environ, timedelta(microseconds=1500))
    assert not any(leaked[9:] in str(value) for value in atoms.values())


def test_error_logs_that_name_the_path_carry_no_secret(leaked: str) -> None:
    import io

    stream = io.StringIO()
    handlers = [h for h in logging.getLogger("django.request").handlers if isinstance(h, logging.StreamHandler)]
    assert handlers
    previous = [h.setStream(stream) for h in handlers]
    try:
        logging.getLogger("django.request").error("Internal Server Error: %s", f"/api/public/v1/calls/{leaked}")
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.setStream(old)
    assert "Internal Server Error: /api/public/v1/calls/aip_live_[REDACTED]" in stream.getvalue()
    assert leaked not in stream.getvalue()


# --- what pages show, for rows written before the redaction --------------------------------------------------


def test_dashboard_logs_pages_show_an_old_rows_path_redacted(owner: Any, org: Organization, leaked: str) -> None:
    row = _old_row(org, f"/api/public/v1/calls/{leaked}")
    client = Client()
    assert client.login(username="owner@acme.test", password=PASSWORD)

    for url in (LOGS, f"{LOGS}{row.request_id}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert leaked.encode() not in response.content and leaked[9:].encode() not in response.content
        assert b"/api/public/v1/calls/aip_live_[REDACTED]" in response.content


def test_admin_request_log_list_and_detail_show_an_old_rows_path_redacted(org: Organization) -> None:
    secret = "whsec_" + uuid.uuid4().hex + uuid.uuid4().hex[:11]
    key = make_key(org, name="Leaked in admin")
    row = _old_row(org, f"/api/public/v1/webhooks/{secret}/x/{key}")
    get_user_model().objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", PASSWORD)
    client = Client()
    assert client.login(username="staff@aiphone360.test", password=PASSWORD)

    for url in ("/admin/developer/requestlog/", f"/admin/developer/requestlog/{row.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        for leaked in (secret, key, secret[6:], key[9:]):
            assert leaked.encode() not in response.content, url
        assert b"/api/public/v1/webhooks/whsec_[REDACTED]/x/aip_live_[REDACTED]" in response.content, url


# --- the data migration ------------------------------------------------------------------------------------------


def test_migration_redacts_paths_already_stored(org: Organization, leaked: str, monkeypatch: Any) -> None:
    migration = importlib.import_module("developer.migrations.0006_redact_secrets_in_request_log_paths")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches, including redacted rows that still match
    secret = "whsec_" + "s" * 43
    rows = {
        "live": _old_row(org, f"/api/public/v1/calls/{leaked}"),
        "whsec": _old_row(None, f"/api/public/v1/webhooks/{secret}"),
        "done": _old_row(org, "/api/public/v1/calls/aip_test_[REDACTED]"),
        "clean": _old_row(org, "/api/public/v1/calls/call_abc"),
        "both": _old_row(org, f"/api/public/v1/{secret}/{leaked}"),
    }

    migration.redact_stored_paths(apps, None)

    paths = {name: RequestLog.objects.get(pk=row.pk).path for name, row in rows.items()}
    assert paths == {
        "live": "/api/public/v1/calls/aip_live_[REDACTED]",
        "whsec": "/api/public/v1/webhooks/whsec_[REDACTED]",
        "done": "/api/public/v1/calls/aip_test_[REDACTED]",
        "clean": "/api/public/v1/calls/call_abc",
        "both": "/api/public/v1/whsec_[REDACTED]/aip_live_[REDACTED]",
    }
