"""Idempotency-Key on POST /messages: replay, mismatch, in-flight, expiry and real concurrency."""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from developer.models import IdempotencyRecord
from developer.public_api import idempotency
from phone import services
from phone.backends import local
from phone.models import AiConfig, BusinessNumber, Message, SmsOptOut
from tests.conftest import ApiClient, is_postgres, make_key, make_org

from .conftest import events

BODY = {"to": "+14155552671", "body": "Your table is ready."}


def _send(api: ApiClient, key: str, body: dict | None = None):
    return api.post("/messages", body or BODY, headers={"Idempotency-Key": key})


def test_same_key_and_body_replays_the_stored_response_and_sends_nothing(
    api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    first = _send(api, "order-1234-confirmation")
    second = _send(api, "order-1234-confirmation")

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.body["data"] == first.body["data"]
    assert second.body["message"] == first.body["message"]
    assert second["X-Request-Id"] != first["X-Request-Id"]
    assert Message.objects.count() == 1 and len(local.outbox) == 1
    assert len(events(org, "sms.sent")) == 1


def test_json_key_order_and_whitespace_do_not_make_a_different_body(api: ApiClient, sms_ready: BusinessNumber) -> None:
    _send(api, "k1")
    replay = api.post(
        "/messages", raw='{ "body": "Your table is ready.",   "to": "+14155552671" }', headers={"Idempotency-Key": "k1"}
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"


def test_same_key_with_a_different_body_is_422_with_its_own_code(api: ApiClient, sms_ready: BusinessNumber) -> None:
    _send(api, "k1")
    response = _send(api, "k1", {**BODY, "body": "Something else"})

    assert response.status_code == 422
    assert response.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Message.objects.count() == 1 and len(local.outbox) == 1


def test_a_request_still_in_flight_gets_409(api: ApiClient, sms_ready: BusinessNumber, org: Organization) -> None:
    # What a concurrent duplicate sees: the first request has claimed the key and not finished.
    fingerprint = idempotency.request_fingerprint("POST", "/api/public/v1/messages", BODY)
    IdempotencyRecord.objects.create(
        organization=org, mode="live", key="k1", fingerprint=fingerprint, locked_at=timezone.now()
    )

    response = _send(api, "k1")

    assert response.status_code == 409
    assert response.body["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert not Message.objects.exists()


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(
    api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    fingerprint = idempotency.request_fingerprint("POST", "/api/public/v1/messages", BODY)
    IdempotencyRecord.objects.create(
        organization=org,
        mode="live",
        key="k1",
        fingerprint=fingerprint,
        locked_at=timezone.now() - idempotency.LOCK_TIMEOUT - datetime.timedelta(seconds=1),
    )
    assert _send(api, "k1").status_code == 201
    assert Message.objects.count() == 1


def test_a_key_older_than_24_hours_is_forgotten(api: ApiClient, sms_ready: BusinessNumber) -> None:
    _send(api, "k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=24, seconds=1))

    again = _send(api, "k1")

    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Message.objects.count() == 2


def test_a_key_is_kept_for_24_hours(api: ApiClient, sms_ready: BusinessNumber) -> None:
    _send(api, "k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=23, minutes=59))
    assert _send(api, "k1")["Idempotent-Replayed"] == "true"


def test_prune_deletes_only_expired_keys(org: Organization) -> None:
    now = timezone.now()
    IdempotencyRecord.objects.create(
        organization=org, mode="live", key="old", fingerprint="x", created_at=now - datetime.timedelta(hours=25)
    )
    IdempotencyRecord.objects.create(organization=org, mode="live", key="new", fingerprint="x", created_at=now)
    assert idempotency.idempotency_prune(now=now) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_a_failed_request_releases_the_key_for_a_corrected_retry(api: ApiClient, sms_ready: BusinessNumber) -> None:
    bad = _send(api, "k1", {"to": "not a number", "body": "Hi"})
    assert bad.status_code == 400
    good = _send(api, "k1", BODY)
    assert good.status_code == 201 and "Idempotent-Replayed" not in good
    assert not IdempotencyRecord.objects.filter(state="in_flight").exists()


def test_keys_are_scoped_per_business_and_per_mode(
    api: ApiClient, sms_ready: BusinessNumber, org: Organization, other_org: Organization
) -> None:
    services.business_number_add(organization=other_org, number="+12125550101")
    services.ai_config_for(organization=other_org)
    AiConfig.objects.filter(organization=other_org).update(sms_quiet_hours_start="00:00", sms_quiet_hours_end="00:00")
    other = ApiClient(make_key(other_org))
    test_mode = ApiClient(make_key(org, mode="test"))

    responses = [_send(api, "shared"), _send(other, "shared"), _send(test_mode, "shared")]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert all("Idempotent-Replayed" not in r for r in responses)
    assert Message.objects.count() == 3


def test_another_key_of_the_same_business_and_mode_replays(
    api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    _send(api, "k1")
    second_key = ApiClient(make_key(org, mode="live", name="Second"))
    assert _send(second_key, "k1")["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("key", "ok"), [("a" * 255, True), ("a" * 256, False), ("", False), ("   ", False), ("clé", False)]
)
def test_key_format(api: ApiClient, sms_ready: BusinessNumber, key: str, ok: bool) -> None:
    response = api.post("/messages", BODY, headers={"Idempotency-Key": key.encode().decode("latin-1")})
    if ok:
        assert response.status_code == 201
    else:
        assert response.status_code == 400
        assert "Idempotency-Key" in response.body["error"]["fields"]
        assert not Message.objects.exists()


def test_without_the_header_every_request_sends(api: ApiClient, sms_ready: BusinessNumber) -> None:
    api.post("/messages", BODY)
    api.post("/messages", BODY)
    assert Message.objects.count() == 2


def test_compliance_refusals_are_not_stored(api: ApiClient, sms_ready: BusinessNumber, org: Organization) -> None:
    SmsOptOut.objects.create(organization=org, phone_number=BODY["to"], keyword="STOP")
    assert _send(api, "k1").status_code == 422
    SmsOptOut.objects.all().delete()
    assert _send(api, "k1").status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_requests_send_exactly_one_message(settings: Any) -> None:
    if not is_postgres():
        pytest.skip("Concurrency is tested on PostgreSQL (set DATABASE_URL); SQLite serialises writers.")
    org = make_org("Concurrent Dental")
    services.business_number_add(organization=org, number="+12125550100")
    services.ai_config_for(organization=org)
    AiConfig.objects.filter(organization=org).update(sms_quiet_hours_start="00:00", sms_quiet_hours_end="00:00")
    secret = make_key(org, mode="live")
    barrier = threading.Barrier(20)
    results: list[tuple[int, str | None, str | None]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            client = ApiClient(secret)
            barrier.wait()
            response = _send(client, "one-and-only-one")
            code = response.body["error"]["code"] if response.status_code >= 400 else None
            with lock:
                results.append((response.status_code, response.get("Idempotent-Replayed"), code))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = Counter(status for status, _, _ in results)
    first_sends = [r for r in results if r[0] == 201 and r[1] is None]
    assert len(results) == 20
    assert len(first_sends) == 1
    assert set(statuses) <= {201, 409}
    assert all(code == "IDEMPOTENCY_KEY_IN_USE" for status, _, code in results if status == 409)
    assert Message.objects.filter(organization=org).count() == 1
    assert len([sms for sms in local.outbox if sms.from_number == "+12125550100"]) == 1
