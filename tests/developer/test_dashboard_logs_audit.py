"""The Request logs page (filters, cursor paging, detail, request-id search) and the Audit log page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import audit_record
from core.cursor import encode_cursor
from developer.models import ApiKey
from developer.public_api import request_log
from tests.conftest import ApiClient, make_key

PASSWORD = "correct-horse-battery"
LOGS = "/settings/developer/logs/"
AUDIT = "/settings/developer/audit/"
ROW_ID = re.compile(r'href="/settings/developer/logs/(req_[A-Za-z0-9]+)/"')


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


@pytest.fixture
def owner_client(owner: Any) -> Client:
    return signed_in("owner@acme.test")


def _log(
    org: Any,
    *,
    minutes_ago: float = 0,
    key: ApiKey | None = None,
    status: int = 200,
    error_code: str = "",
    path: str = "/api/public/v1/calls",
) -> str:
    request_id = f"req_{uuid.uuid4().hex[:22]}"
    request_log.insert_entries(
        [
            {
                "request_id": request_id,
                "at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
                "method": "GET",
                "path": path,
                "query": "limit=5",
                "status": status,
                "error_code": error_code,
                "latency_ms": 12.5,
                "ip": "203.0.113.9",
                "ua": "curl/8",
                "org_id": org.pk,
                "key_id": key.pk if key else None,
                "key_masked": key.masked if key else "",
                "mode": key.mode if key else "",
            }
        ]
    )
    return request_id


def test_logs_page_lists_real_api_requests_newest_first(owner_client: Client, api: ApiClient, org: Any) -> None:
    first = api.get("/keys")["X-Request-Id"]
    second = api.get("/nope")["X-Request-Id"]
    request_log.flush()
    html = owner_client.get(LOGS).content.decode()
    assert ROW_ID.findall(html) == sorted([first, second], key=[second, first].index)
    assert "RESOURCE_NOT_FOUND" in html and "/api/public/v1/keys" in html
    assert ApiKey.objects.get(organization=org).masked in html


def test_logs_page_shows_only_this_organisations_requests(owner_client: Client, org: Any, other_org: Any) -> None:
    mine = _log(org)
    theirs = _log(other_org)
    html = owner_client.get(LOGS).content.decode()
    assert mine in html and theirs not in html
    assert owner_client.get(f"{LOGS}{theirs}/").status_code == 404


def test_filters_by_key_status_class_and_error_code(owner_client: Client, org: Any) -> None:
    make_key(org, name="A")
    make_key(org, name="B")
    a, b = ApiKey.objects.get(name="A"), ApiKey.objects.get(name="B")
    ok_a = _log(org, key=a)
    denied_a = _log(org, key=a, status=403, error_code="INSUFFICIENT_SCOPE")
    missing_b = _log(org, key=b, status=404, error_code="RESOURCE_NOT_FOUND")
    broken_b = _log(org, key=b, status=500, error_code="INTERNAL_ERROR")

    def ids(query: str) -> set[str]:
        return set(ROW_ID.findall(owner_client.get(f"{LOGS}?{query}").content.decode()))

    assert ids(f"key={a.public_id}") == {ok_a, denied_a}
    assert ids("status=4xx") == {denied_a, missing_b}
    assert ids("status=5xx") == {broken_b}
    assert ids("status=2xx") == {ok_a}
    assert ids("error_code=RESOURCE_NOT_FOUND") == {missing_b}
    assert ids(f"key={b.public_id}&status=4xx") == {missing_b}
    assert (
        "No requests match these filters" in owner_client.get(f"{LOGS}?status=2xx&key={b.public_id}").content.decode()
    )


def test_cursor_paging_walks_every_request_once_newest_first(owner_client: Client, org: Any) -> None:
    created = [_log(org, minutes_ago=i) for i in range(120)]  # created[0] is the newest
    seen: list[str] = []
    url = LOGS
    pages = 0
    while url:
        html = owner_client.get(url).content.decode()
        seen.extend(ROW_ID.findall(html))
        more = re.search(r'<a class="btn btn-sm" href="\?([^"]+)"', html)
        url = f"{LOGS}?{more.group(1).replace('&amp;', '&')}" if more else ""
        pages += 1
    assert pages == 3 and seen == created


def test_a_cursor_with_an_id_that_is_not_a_number_shows_the_first_page(owner_client: Client, org: Any) -> None:
    created = [_log(org, minutes_ago=i) for i in range(3)]
    forged = encode_cursor(timezone.now(), "req_not_a_row_id")  # the page's cursors carry row ids now

    response = owner_client.get(f"{LOGS}?cursor={forged}")

    assert response.status_code == 200
    assert ROW_ID.findall(response.content.decode()) == created


def test_load_more_with_htmx_returns_just_the_next_rows(owner_client: Client, org: Any) -> None:
    created = [_log(org, minutes_ago=i) for i in range(55)]
    first = owner_client.get(LOGS).content.decode()
    more_link = re.search(r'<a class="btn btn-sm" href="\?([^"]+)"', first)
    assert more_link is not None, "no load-more link"
    query = more_link.group(1).replace("&amp;", "&")
    more = owner_client.get(f"{LOGS}?{query}", headers={"HX-Request": "true", "HX-Target": "log-more"})
    html = more.content.decode()
    assert "<html" not in html and "<table" not in html
    assert ROW_ID.findall(html) == created[50:]
    assert 'id="log-more"' not in html  # the last page offers no more


def test_same_timestamp_rows_are_split_across_pages_without_loss(owner_client: Client, org: Any) -> None:
    at = timezone.now()
    ids = [f"req_{i:022d}" for i in range(60)]
    request_log.insert_entries(
        [
            {
                "request_id": rid,
                "at": at.isoformat(),
                "method": "GET",
                "path": "/api/public/v1/calls",
                "status": 200,
                "latency_ms": 1.0,
                "org_id": org.pk,
            }
            for rid in ids
        ]
    )
    first = owner_client.get(LOGS).content.decode()
    more_link = re.search(r'<a class="btn btn-sm" href="\?([^"]+)"', first)
    assert more_link is not None, "no load-more link"
    query = more_link.group(1).replace("&amp;", "&")
    second = owner_client.get(f"{LOGS}?{query}").content.decode()
    assert ROW_ID.findall(first) + ROW_ID.findall(second) == sorted(ids, reverse=True)


def test_request_id_search_opens_the_request(owner_client: Client, api: ApiClient, org: Any) -> None:
    request_id = api.get("/nope?limit=3")["X-Request-Id"]
    request_log.flush()
    response = owner_client.get(f"{LOGS}?q={request_id}", follow=True)
    assert response.redirect_chain == [(f"{LOGS}{request_id}/", 302)]
    html = response.content.decode()
    for text in (
        request_id,
        "/api/public/v1/nope",
        "limit=3",
        "RESOURCE_NOT_FOUND",
        "404",
        ApiKey.objects.get(organization=org).masked,
        "127.0.0.1",
    ):
        assert text in html


def test_unknown_request_id_says_so(owner_client: Client, org: Any, other_org: Any) -> None:
    theirs = _log(other_org)
    html = owner_client.get(f"{LOGS}?q={theirs}").content.decode()
    assert f"No request with id <code>{theirs}</code>" in html


def test_empty_logs_page_says_how_to_get_entries(owner_client: Client) -> None:
    html = owner_client.get(LOGS).content.decode()
    assert "No requests yet" in html and "Make a request with one of your" in html


def test_viewer_can_read_logs(viewer: Any, org: Any) -> None:
    request_id = _log(org)
    client = signed_in("viewer@acme.test")
    assert request_id in client.get(LOGS).content.decode()
    assert client.get(f"{LOGS}{request_id}/").status_code == 200


# --- audit ---------------------------------------------------------------------------------------------


def test_audit_page_lists_dashboard_and_api_actions_with_actor(
    owner_client: Client, org: Any, owner: Any, api: ApiClient
) -> None:
    owner_client.post(
        "/settings/developer/keys/new/",
        {"name": "From dashboard", "mode": "test", "access": "read", "expires": "never"},
    )
    api.post("/keys", {"name": "From API", "mode": "test", "scopes": ["read:calls"]})
    html = owner_client.get(AUDIT).content.decode()
    assert "owner@acme.test" in html and "Test key (aip_live_…" in html  # the user and the acting key
    assert html.count("<code>api_key.created</code>") == 3  # + the fixture's key, created by the system
    assert '<td data-label="Actor">system<span class="sub">System</span></td>' in html
    assert "From dashboard" in html and "From API" in html


def test_audit_page_is_for_owners_and_admins_only(viewer: Any) -> None:
    assert signed_in("viewer@acme.test").get(AUDIT).status_code == 403


def test_audit_filter_by_action_and_paging(owner_client: Client, org: Any, other_org: Any) -> None:
    for i in range(60):
        audit_record(organization=org, actor=None, action="webhook.updated", metadata={"n": i})
    audit_record(organization=org, actor=None, action="organization.suspended", target=org)
    audit_record(organization=other_org, actor=None, action="organization.secret_thing")
    page = owner_client.get(f"{AUDIT}?action=webhook.updated").content.decode()
    assert page.count("<code>webhook.updated</code>") == 50 and "organization.suspended</code>" not in page
    assert '<option value="organization.suspended">' in page and "secret_thing" not in page
    more_link = re.search(r'<a class="btn btn-sm" href="\?([^"]+)"', page)
    assert more_link is not None, "no load-more link"
    query = more_link.group(1).replace("&amp;", "&")
    rest = owner_client.get(f"{AUDIT}?{query}", headers={"HX-Request": "true", "HX-Target": "audit-more"})
    assert rest.content.decode().count("<code>webhook.updated</code>") == 10
    total = AuditEntry.objects.filter(organization=org, action="webhook.updated").count()
    assert total == 60
