"""GET /events and GET /events/{id}: the event log, its filters and cursors, the ascending stream and its long poll."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from tests.conftest import ApiClient, is_postgres, make_key, make_org
from webhooks import event_log
from webhooks.events import emit
from webhooks.models import Event
from webhooks.services import endpoint_create, endpoint_send_test


def _emit(
    org: Organization, type: str = "contact.created", *, mode: str = "test", ago: float = 10.0, **data: Any
) -> Event:
    event = emit(organization=org, type=type, data={"n": data.get("n", 0)}, mode=mode)
    # Backdated so the order is known and the stream's one-second settling has passed.
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(seconds=ago))
    event.refresh_from_db()
    return event


@pytest.mark.django_db
def test_the_log_lists_newest_first_with_cursor_and_filters(org: Organization, test_api: ApiClient) -> None:
    events = [_emit(org, "contact.created" if i % 2 else "sms.sent", ago=100 - i, n=i) for i in range(5)]
    _emit(org, mode="live")  # the other mode: never listed to a test key

    first = test_api.get("/events?limit=2")
    assert first.status_code == 200, first.body
    assert [e["id"] for e in first.body["data"]] == [events[4].public_id, events[3].public_id]
    assert first.body["data"][0] == events[4].payload  # exactly what a delivery sends
    assert first.body["pagination"]["hasMore"] is True
    second = test_api.get(f"/events?limit=2&cursor={first.body['pagination']['nextCursor']}")
    third = test_api.get(f"/events?limit=2&cursor={second.body['pagination']['nextCursor']}")
    assert [e["id"] for e in second.body["data"] + third.body["data"]] == [e.public_id for e in events[2::-1]]
    assert third.body["pagination"] == {"nextCursor": None, "hasMore": False, "limit": 2}

    typed = test_api.get("/events?type=sms.sent").body["data"]
    assert [e["id"] for e in typed] == [events[4].public_id, events[2].public_id, events[0].public_id]
    since = (events[2].created_at).isoformat().replace("+00:00", "Z")
    until = (events[4].created_at).isoformat().replace("+00:00", "Z")
    ranged = test_api.get(f"/events?from={since}&to={until}").body["data"]
    assert [e["id"] for e in ranged] == [events[3].public_id, events[2].public_id]


@pytest.mark.django_db
def test_the_log_keeps_thirty_days_and_leaves_out_test_pings(org: Organization, test_api: ApiClient) -> None:
    old = _emit(org, ago=31 * 86400)
    kept = _emit(org, ago=29 * 86400)
    endpoint, _ = endpoint_create(organization=org, url="http://127.0.0.1:9/hook", events=["*"], actor=None)
    endpoint_send_test(endpoint=endpoint, actor=None)  # a webhook.test event, test mode

    assert [e["id"] for e in test_api.get("/events").body["data"]] == [kept.public_id]
    missing = test_api.get(f"/events/{old.public_id}")
    assert missing.status_code == 404 and missing.body["error"]["code"] == "RESOURCE_NOT_FOUND"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=call.exploded", "type"),
        ("type=webhook.test", "type"),
        ("from=yesterday", "from"),
        ("after=evt_x&wait=26", "wait"),
        ("after=evt_x&wait=1.5", "wait"),
        ("cursor=nonsense", "cursor"),
        ("limit=101", "limit"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(test_api: ApiClient, query: str, field: str) -> None:
    response = test_api.get(f"/events?{query}")
    assert response.status_code == 400, response.body
    assert response.body["error"]["code"] == "VALIDATION_ERROR" and field in response.body["error"]["fields"]


@pytest.mark.django_db
def test_one_event_shows_each_endpoints_delivery(org: Organization, test_api: ApiClient) -> None:
    first, _ = endpoint_create(organization=org, url="http://127.0.0.1:9/a", events=["*"], actor=None)
    second, _ = endpoint_create(organization=org, url="http://127.0.0.1:9/b", events=["contact.created"], actor=None)
    endpoint_create(organization=org, url="http://127.0.0.1:9/c", events=["sms.sent"], actor=None)
    event = _emit(org)

    response = test_api.get(f"/events/{event.public_id}")
    assert response.status_code == 200, response.body
    data = response.body["data"]
    assert {k: data[k] for k in ("id", "type", "livemode")} == {
        "id": event.public_id,
        "type": "contact.created",
        "livemode": False,
    }
    assert sorted(d["webhookId"] for d in data["deliveries"]) == sorted([first.public_id, second.public_id])
    assert {d["status"] for d in data["deliveries"]} == {"pending"}
    assert all(d["eventId"] == event.public_id for d in data["deliveries"])


@pytest.mark.django_db
def test_another_business_or_mode_is_a_404_and_never_listed(org: Organization, test_api: ApiClient) -> None:
    mine = _emit(org)
    live = _emit(org, mode="live")
    other = make_org("Other Dental")
    theirs = _emit(other)
    other_api = ApiClient(make_key(other, mode="test"))
    live_api = ApiClient(make_key(org, mode="live"))

    for client, foreign in ((test_api, live), (test_api, theirs), (other_api, mine), (live_api, mine)):
        response = client.get(f"/events/{foreign.public_id}")
        assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
        assert (
            response.body["error"]["message"] == f"No event with id '{foreign.public_id}' exists in this organization."
        )
        stream = client.get(f"/events?after={foreign.public_id}")
        assert stream.status_code == 404
    assert [e["id"] for e in live_api.get("/events").body["data"]] == [live.public_id]
    assert [e["id"] for e in other_api.get("/events").body["data"]] == [theirs.public_id]
    assert [e["id"] for e in test_api.get("/events").body["data"]] == [mine.public_id]


@pytest.mark.django_db
def test_the_scope_is_manage_webhooks(org: Organization) -> None:
    reader = ApiClient(make_key(org, mode="test", scopes=["read:calls"]))
    response = reader.get("/events")
    assert response.status_code == 403 and response.body["error"]["code"] == "INSUFFICIENT_SCOPE"


@pytest.mark.django_db
def test_after_reads_ascending_and_only_settled_events(org: Organization, test_api: ApiClient) -> None:
    events = [_emit(org, ago=50 - i, n=i) for i in range(5)]
    fresh = emit(organization=org, type="sms.sent", data={}, mode="test")  # younger than a second: not yet

    page = test_api.get(f"/events?after={events[0].public_id}&limit=3")
    assert page.status_code == 200, page.body
    assert [e["id"] for e in page.body["data"]] == [e.public_id for e in events[1:4]]
    assert page.body["pagination"] == {"nextCursor": None, "hasMore": True, "limit": 3}
    rest = test_api.get(f"/events?after={events[3].public_id}").body
    assert [e["id"] for e in rest["data"]] == [events[4].public_id] and rest["pagination"]["hasMore"] is False

    Event.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(seconds=2))
    assert [e["id"] for e in test_api.get(f"/events?after={events[4].public_id}").body["data"]] == [fresh.public_id]
    assert test_api.get(f"/events?after={events[4].public_id}&type=contact.created").body["data"] == []


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_returns_as_soon_as_an_event_is_emitted(org: Organization, test_api: ApiClient) -> None:
    anchor = _emit(org)

    def later() -> None:
        time.sleep(0.6)
        emit(organization=org, type="contact.created", data={"late": True}, mode="test")
        connection.close()

    emitter = threading.Thread(target=later)
    started = time.monotonic()
    emitter.start()
    response = test_api.get(f"/events?after={anchor.public_id}&wait=20")
    elapsed = time.monotonic() - started
    emitter.join()

    assert response.status_code == 200, response.body
    assert [e["data"] for e in response.body["data"]] == [{"late": True}]
    # Emitted at 0.6 s, readable once a second old, seen within a poll interval (or a recheck).
    assert 1.5 <= elapsed < 5, elapsed


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_with_nothing_new_answers_empty_when_the_wait_is_up(org: Organization, test_api: ApiClient) -> None:
    anchor = _emit(org)
    _emit(org, mode="live")  # another mode's event does not end the wait
    started = time.monotonic()
    response = test_api.get(f"/events?after={anchor.public_id}&wait=1")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.body["data"] == []
    assert response.body["pagination"]["hasMore"] is False
    assert 1.0 <= elapsed < 2.5, elapsed


@pytest.mark.django_db
def test_past_the_long_poll_limit_a_wait_is_answered_at_once(
    org: Organization, test_api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchor = _emit(org)
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(event_log, "_slots", slots)
    assert slots.acquire(blocking=False)  # another request holds the only slot
    try:
        started = time.monotonic()
        response = test_api.get(f"/events?after={anchor.public_id}&wait=20")
        assert time.monotonic() - started < 1
    finally:
        slots.release()
    assert response.status_code == 200 and response.body["data"] == []
    assert response["Retry-After"] == "1"


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL (set DATABASE_URL) to count the server's connections")
@pytest.mark.django_db(transaction=True)
def test_a_waiting_long_poll_holds_no_database_connection(org: Organization, test_key: str) -> None:
    anchor = _emit(org)

    def connections() -> set[int]:
        # Server processes by pid: a connection left by an earlier test may close meanwhile, which a
        # count would read as the poll's; only a new pid can be the waiting poll's.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            return {int(row[0]) for row in cursor.fetchall()}

    before = connections()
    answers: list[Any] = []

    def poll() -> None:
        answers.append(ApiClient(test_key).get(f"/events?after={anchor.public_id}&wait=3"))
        connection.close()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.5)  # authenticated, read the log once, now waiting
    during = connections()
    poller.join()
    assert answers[0].status_code == 200 and answers[0].body["data"] == []
    assert during - before == set(), (before, during)
