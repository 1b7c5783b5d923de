"""Lean request-log rows (developer 0009): packed request ids, paths without the API prefix, user agents
stored once, latency in hundredths. What pages, the admin and the API show is unchanged, and the
migration converts existing rows exactly, both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from developer.log_codec import decode_path, decode_request_id, encode_path, encode_request_id
from developer.models import RequestLog, UserAgent
from developer.public_api import request_log
from tests.conftest import ApiClient

CANONICAL = "req_0123456789abcdef01234567"


# --- the pure codec ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_id",
    [
        CANONICAL,
        "req_kept",
        "req_" + "a" * 22,  # what versions before this one made when the request had no id
        "req_0123456789ABCDEF01234567",  # upper-case hex is not canonical: kept as text
        "abcdefghijk",  # 11 characters: with its NUL it would be 12 bytes, the canonical length
        "abcdefghijkl",
        "",
        "éééééé",
    ],
)
def test_every_request_id_comes_back_exactly(request_id: str) -> None:
    assert decode_request_id(encode_request_id(request_id)) == request_id


def test_a_request_id_as_the_api_makes_it_takes_twelve_bytes() -> None:
    assert encode_request_id(CANONICAL) == bytes.fromhex(CANONICAL[4:])
    assert all(len(encode_request_id(i)) != 12 for i in ["abcdefghijk", "abcdefghijkl", "req_kept"])


@pytest.mark.parametrize(
    ("path", "stored"),
    [
        ("/api/public/v1/calls/call_1", "/calls/call_1"),
        ("/api/public/v1", ""),
        ("/api/public/v12", "2"),
        ("/api/public/v1!x", "!/api/public/v1!x"),  # the escape itself, escaped
        ("/other", "!/other"),
        ("", "!"),
    ],
)
def test_paths_are_stored_without_the_api_prefix_and_come_back_whole(path: str, stored: str) -> None:
    assert encode_path(path) == stored and decode_path(stored) == path


# --- rows written by the flush -------------------------------------------------------------------------


def _columns(request_id: str) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT request_id, path, latency_hundredths, agent_id FROM developer_requestlog WHERE request_id = %s",
            [encode_request_id(request_id)],
        )
        row = cursor.fetchone()
    assert row is not None, request_id
    return (bytes(row[0]), *row[1:])


def test_a_logged_request_is_stored_packed_and_shown_as_it_was(api: ApiClient, org: Any) -> None:
    first = api.get("/keys?limit=2", headers={"User-Agent": "acme-sdk/1.0"})
    second = api.get("/nope", headers={"User-Agent": "acme-sdk/1.0"})
    request_log.flush()

    request_id = first["X-Request-Id"]
    packed, path, _latency, agent_id = _columns(request_id)
    assert packed == bytes.fromhex(request_id.removeprefix("req_")) and path == "/keys"
    assert UserAgent.objects.get().text == "acme-sdk/1.0"  # stored once for both requests
    assert _columns(second["X-Request-Id"])[3] == agent_id
    row = RequestLog.objects.get(request_id=request_id)
    assert (row.request_id, row.path, row.user_agent) == (request_id, "/api/public/v1/keys", "acme-sdk/1.0")


def test_latency_keeps_its_two_decimals_and_a_missing_user_agent_stays_empty(org: Any) -> None:
    entry = {
        "request_id": CANONICAL,
        "at": timezone.now().isoformat(),
        "method": "GET",
        "path": "/api/public/v1/calls",
        "status": 200,
        "latency_ms": 12.34,
        "org_id": org.pk,
    }
    request_log.insert_entries([entry])
    assert _columns(CANONICAL)[2:] == (1234, None)
    row = RequestLog.objects.get(request_id=CANONICAL)
    assert (row.latency_ms, row.user_agent) == (12.34, "")


def test_a_batch_flushed_twice_with_packed_ids_inserts_each_request_once(org: Any) -> None:
    at = timezone.now().isoformat()
    batch = [
        {
            "request_id": f"req_{n:024x}",
            "at": at,
            "method": "GET",
            "path": "/api/public/v1/calls",
            "status": 200,
            "latency_ms": 1.0,
            "org_id": org.pk,
            "ua": f"client/{n % 2}",
        }
        for n in range(20)
    ]
    request_log.insert_entries(batch)
    request_log.insert_entries(batch)
    assert RequestLog.objects.count() == 20 and UserAgent.objects.count() == 2
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == [e["request_id"] for e in batch]


def test_the_dashboard_finds_a_request_by_its_id_and_shows_its_user_agent(
    owner_client: Client, api: ApiClient, org: Any
) -> None:
    request_id = api.get("/keys", headers={"User-Agent": "acme-sdk/2.0"})["X-Request-Id"]
    request_log.flush()

    found = owner_client.get("/settings/developer/logs/", {"q": request_id})
    assert found.status_code == 302 and found["Location"].endswith(f"/logs/{request_id}/")
    page = owner_client.get(found["Location"]).content.decode()
    assert request_id in page and "acme-sdk/2.0" in page and "/api/public/v1/keys" in page


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_finds_a_request_by_its_id_or_its_whole_path(staff: Client, api: ApiClient, org: Any) -> None:
    wanted = api.get("/keys", headers={"User-Agent": "acme-sdk/3.0"})["X-Request-Id"]
    other = api.get("/nope")["X-Request-Id"]
    request_log.flush()

    by_id = staff.get("/admin/developer/requestlog/", {"q": wanted}).content.decode()
    assert wanted in by_id and other not in by_id
    by_path = staff.get("/admin/developer/requestlog/", {"q": "/api/public/v1/keys"}).content.decode()
    assert wanted in by_path and other not in by_path
    row = RequestLog.objects.get(request_id=wanted)
    detail = staff.get(f"/admin/developer/requestlog/{row.pk}/change/").content.decode()
    assert wanted in detail and "acme-sdk/3.0" in detail


# --- the migration -----------------------------------------------------------------------------------------

BEFORE = [("developer", "0008_request_log_partition_by_time")]
AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
OLD_ROWS = [
    # request_id, path, user_agent, latency_ms, client_ip
    (
        CANONICAL,
        "/api/public/v1/calls/call_1",
        "aiphone360-python/1.4.0 (python 3.12.1; httpx 0.27.0)",
        12.34,
        "203.0.113.9",
    ),
    ("req_kept", "/api/public/v1/calls", "curl/8.5.0", 0.5, None),
    ("req_" + "b" * 22, "/api/public/v1!odd", "", 1500.0, "2001:db8::1"),
    ("abcdefghijk", "/not/the/api", "curl/8.5.0", 3.0, None),
    ("req_0123456789ABCDEF01234567", "/api/public/v1", "Zapier", 0.01, None),
    ("éééééé", "/api/public/v12", "", 99999.99, None),
]


def _old_row_values(row: Any) -> tuple[Any, ...]:
    return (row.request_id, row.path, row.user_agent, row.latency_ms, row.client_ip, row.created_at, row.method)


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_existing_rows_exactly_both_ways(org: Any) -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        executor.loader.build_graph()
        OldLog = executor.loader.project_state(BEFORE).apps.get_model("developer", "RequestLog")
        for request_id, path, agent, latency, ip in OLD_ROWS:
            OldLog.objects.create(
                request_id=request_id,
                organization_id=org.pk,
                method="GET",
                path=path,
                status_code=200,
                latency_ms=latency,
                client_ip=ip,
                user_agent=agent,
                created_at=AT,
                mode="live",
            )
        expected = sorted(_old_row_values(r) for r in OldLog.objects.all())

        executor.migrate(latest)
        executor.loader.build_graph()
        rows = RequestLog.objects.select_related("agent").filter(organization=org)
        assert sorted(_old_row_values(r) for r in rows) == expected
        assert sorted(UserAgent.objects.values_list("text", flat=True)) == sorted(
            {a for _, _, a, _, _ in OLD_ROWS if a}
        )
        assert bytes(_columns(CANONICAL)[0]) == bytes.fromhex(CANONICAL[4:])
        # New rows get new ids after the converted ones.
        request_log.insert_entries(
            [
                {
                    "request_id": "req_new",
                    "at": AT.isoformat(),
                    "method": "GET",
                    "path": "/api/public/v1/calls",
                    "status": 200,
                    "latency_ms": 1.0,
                    "org_id": org.pk,
                }
            ]
        )
        assert RequestLog.objects.get(request_id="req_new").pk > max(r.pk for r in rows)
        RequestLog.objects.filter(request_id="req_new").delete()

        executor.migrate(BEFORE)
        executor.loader.build_graph()
        OldLog = executor.loader.project_state(BEFORE).apps.get_model("developer", "RequestLog")
        assert sorted(_old_row_values(r) for r in OldLog.objects.all()) == expected
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)


def _entry(request_id: str, at: datetime, org: Any, ua: str) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "at": at.isoformat(),
        "method": "GET",
        "path": "/api/public/v1/calls",
        "status": 200,
        "latency_ms": 1.0,
        "org_id": org.pk,
        "ua": ua,
    }


def test_the_prune_deletes_user_agents_no_kept_row_can_name_and_a_flush_keeps_its_own(org: Any) -> None:
    now = timezone.now()
    old = now - request_log.RETENTION - timedelta(days=10)
    request_log.insert_entries([_entry(f"req_{1:024x}", now, org, "kept-sdk/1.0")])
    request_log.insert_entries([_entry(f"req_{2:024x}", now, org, "gone-sdk/1.0")])
    # Both agents were last seen long ago, by the clock of the rows that named them then.
    UserAgent.objects.update(last_seen_on=old.date())
    RequestLog.objects.filter(request_id=f"req_{2:024x}").delete()
    RequestLog.objects.filter(request_id=f"req_{1:024x}").update(created_at=old)
    # A new request from the kept agent is flushed: the flush marks it seen today.
    request_log.insert_entries([_entry(f"req_{3:024x}", now, org, "kept-sdk/1.0")])
    assert UserAgent.objects.get(text="kept-sdk/1.0").last_seen_on == now.astimezone(UTC).date()

    request_log.prune(now=now)

    assert set(UserAgent.objects.values_list("text", flat=True)) == {"kept-sdk/1.0"}
    assert [(row.request_id, row.user_agent) for row in RequestLog.objects.all()] == [(f"req_{3:024x}", "kept-sdk/1.0")]
    # An agent the prune deleted is stored again when it comes back.
    request_log.insert_entries([_entry(f"req_{4:024x}", now, org, "gone-sdk/1.0")])
    assert RequestLog.objects.get(request_id=f"req_{4:024x}").user_agent == "gone-sdk/1.0"


def test_an_agent_seen_within_the_retention_is_kept_even_with_no_row_left(org: Any) -> None:
    now = timezone.now()
    request_log.insert_entries([_entry(f"req_{5:024x}", now, org, "recent-sdk/2.0")])
    RequestLog.objects.all().delete()
    request_log.prune(now=now)
    assert UserAgent.objects.filter(text="recent-sdk/2.0").exists()
