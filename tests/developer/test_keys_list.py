"""Issue 17 point 7: the API keys list folds a rotated key's predecessors under it and hides revoked and
expired keys behind a filter (a GET parameter, so it works without JavaScript)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from developer import services
from developer.models import ApiKey
from developer.views import time_left
from tests.conftest import make_key

KEYS = "/settings/developer/keys/"


@pytest.fixture
def client(owner: Any) -> Client:
    client = Client()
    assert client.login(username="owner@acme.test", password="correct-horse-battery")
    return client


def _rows(html: str) -> list[str]:
    """The public ids of the table's rows (not of the keys folded inside a row)."""
    return re.findall(r'<tr id="key-row-(key_[A-Za-z0-9]+)"', html)


def _rotate(key: ApiKey, grace: str = "24h") -> ApiKey:
    new_key, _secret = services.api_key_rotate(key=key, grace=grace, actor=None)
    return new_key


def test_a_rotation_chain_is_one_row_with_its_predecessors_folded_and_revocable(client: Client, org: Any) -> None:
    make_key(org, name="Billing sync")
    first = ApiKey.objects.get(name="Billing sync")
    second = _rotate(first)
    third = _rotate(second)
    make_key(org, name="Other")
    html = client.get(KEYS).content.decode()
    other = ApiKey.objects.get(name="Other")
    assert _rows(html) == [other.public_id, third.public_id]
    row = html[html.index(f'<tr id="key-row-{third.public_id}"') :]
    row = row[: row.index("</tr>")]
    assert '<details class="key-previous"' in row
    assert "<summary>2 previous, expire within 24 h</summary>" in row
    for old in (second, first):  # newest first, each still revocable from inside the fold
        assert f'<li id="key-row-{old.public_id}">' in row and old.masked in row
        assert f'href="/settings/developer/keys/{old.public_id}/revoke/"' in row
    assert row.index(second.public_id) < row.index(first.public_id)
    assert "Rotate Billing sync" in row  # the newest key rotates; its predecessors cannot


def test_revoked_and_expired_keys_are_hidden_until_the_filter_shows_them(client: Client, org: Any) -> None:
    make_key(org, name="Working")
    make_key(org, name="Revoked one")
    make_key(org, name="Expired one", mode="test")
    services.api_key_revoke(key=ApiKey.objects.get(name="Revoked one"), actor=None)
    ApiKey.objects.filter(name="Expired one").update(expires_at=timezone.now() - timedelta(minutes=1))

    html = client.get(KEYS).content.decode()
    assert "Working" in html and "Revoked one" not in html and "Expired one" not in html
    assert re.search(r'href="\?show=all"[^>]*>Show revoked and expired <span class="faint">2</span>', html)

    shown = client.get(KEYS + "?show=all").content.decode()
    assert len(_rows(shown)) == 3
    assert "badge-revoked" in shown and "badge-expired" in shown
    assert 'href="?"' in shown and "Hide revoked and expired" in shown
    assert 'href="?mode=live&amp;show=all"' in shown  # the mode tabs keep the filter

    # The mode filter and the status filter combine, and the link keeps the mode.
    live = client.get(KEYS + "?mode=live").content.decode()
    assert 'href="?mode=live&amp;show=all"' in live and '>Show revoked and expired <span class="faint">1</span>' in live
    live_all = client.get(KEYS + "?mode=live&show=all").content.decode()
    assert "Revoked one" in live_all and "Expired one" not in live_all


def test_a_list_of_only_ended_keys_says_they_are_hidden_and_links_to_them(client: Client, org: Any) -> None:
    make_key(org, name="Old")
    services.api_key_revoke(key=ApiKey.objects.get(name="Old"), actor=None)
    html = client.get(KEYS).content.decode()
    assert "No keys in use" in html and "1 revoked or expired key hidden." in html
    assert "Old" not in html.split("<main", 1)[1]


def test_an_ended_predecessor_is_counted_apart_from_the_working_ones(client: Client, org: Any) -> None:
    make_key(org, name="Chain")
    first = ApiKey.objects.get(name="Chain")
    second = _rotate(first, grace="7d")
    third = _rotate(second, grace="1h")
    services.api_key_revoke(key=first, actor=None)
    html = client.get(KEYS).content.decode()
    assert _rows(html) == [third.public_id]
    assert "<summary>1 previous, expires within 1 h</summary>" in html
    assert first.public_id not in html
    everything = client.get(KEYS + "?show=all").content.decode()
    assert "<summary>2 previous, 1 expires within 1 h, 1 revoked or expired</summary>" in everything
    # The revoked one is listed but offers no Revoke.
    assert f'href="/settings/developer/keys/{first.public_id}/revoke/"' not in everything


def test_a_viewer_sees_the_fold_without_revoke_buttons(org: Any, viewer: Any) -> None:
    make_key(org, name="Chain")
    second = _rotate(ApiKey.objects.get(name="Chain"))
    client = Client()
    assert client.login(username="viewer@acme.test", password="correct-horse-battery")
    html = client.get(KEYS).content.decode()
    assert _rows(html) == [second.public_id] and "1 previous, expires within 24 h" in html
    assert "/revoke/" not in html


def test_another_business_keys_never_join_the_list(client: Client, org: Any, other_org: Any) -> None:
    make_key(other_org, name="Theirs")
    services.api_key_revoke(key=ApiKey.objects.get(name="Theirs"), actor=None)
    html = client.get(KEYS + "?show=all").content.decode()
    assert "Theirs" not in html and "Show revoked" not in html


@pytest.mark.parametrize(
    "delta, text",
    [
        (timedelta(seconds=5), "1 min"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=23, minutes=1), "24 h"),
        (timedelta(hours=47), "47 h"),
        (timedelta(days=3), "3 days"),
    ],
)
def test_time_left_is_short_and_rounds_up(delta: timedelta, text: str) -> None:
    assert time_left(delta) == text
