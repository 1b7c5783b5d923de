"""Keyset pagination: newest first, opaque cursors, stable under inserts, bad input refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.cursor import InvalidCursor, decode_cursor, encode_cursor
from developer.models import ApiKey
from tests.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


def _walk(api: ApiClient, limit: int, between_pages=None) -> list[str]:
    ids, cursor = [], None
    while True:
        response = api.get(f"/keys?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.body
        page = response.body
        assert page["pagination"]["limit"] == limit
        assert len(page["data"]) <= limit
        ids += [item["id"] for item in page["data"]]
        cursor = page["pagination"]["nextCursor"]
        assert page["pagination"]["hasMore"] is (cursor is not None)
        if between_pages:
            between_pages()
        if not cursor:
            return ids


def test_pages_are_newest_first_with_no_gaps_or_duplicates_while_rows_are_inserted(org, api: ApiClient) -> None:
    for i in range(11):
        make_key(org, name=f"k{i}")
    expected = list(
        ApiKey.objects.filter(organization=org)
        .order_by("-created_at", "-public_id")
        .values_list("public_id", flat=True)
    )
    inserted: list[int] = []

    def insert_newer_row() -> None:
        make_key(org, name=f"late{len(inserted)}")
        inserted.append(1)

    seen = _walk(api, 5, insert_newer_row)
    assert seen == expected  # the 12 keys that existed, in order, each exactly once
    assert len(inserted) == 3


def test_rows_sharing_a_timestamp_are_split_by_id(org, api: ApiClient) -> None:
    for i in range(6):
        make_key(org, name=f"k{i}")
    same = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(organization=org).update(created_at=same)
    seen = _walk(api, 2)
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)


def test_default_limit_is_25(org, api: ApiClient) -> None:
    for i in range(30):
        make_key(org, name=f"k{i}")
    body = api.get("/keys").body
    assert len(body["data"]) == 25 and body["pagination"]["limit"] == 25 and body["pagination"]["hasMore"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=2.5", "cursor=not-a-cursor", "cursor=WyJ4Il0"]
)
def test_bad_limit_or_cursor_is_a_validation_error(api: ApiClient, query: str) -> None:
    response = api.get(f"/keys?{query}")
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert query.split("=")[0] in response.body["error"]["fields"]


def test_limit_100_is_allowed(api: ApiClient) -> None:
    assert api.get("/keys?limit=100").status_code == 200


def test_cursor_round_trip_and_rejection() -> None:
    when = timezone.now()
    assert decode_cursor(encode_cursor(when, "key_abc")) == (when, "key_abc")
    for bad in ["", "!!!", "e30", "WyIyMDI2LTAxLTAxIiwgMV0"]:
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)
