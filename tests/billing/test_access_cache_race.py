"""A reader that loaded the gate state just before a change committed must not cache the old answer.

The race: reader loads "cannot pay" → a top-up commits and drops the cached state → the reader stores
what it loaded. Without a guard, every worker then holds live deliveries for as long as the cache
lasts. Run on the tests' local cache and, when reachable, on the real Redis the workers share.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing import access
from billing.models import Wallet
from billing.wallet import wallet_credit
from core import fastcache
from tests.conftest import make_org, redis_available


def _a_top_up_lands_while_a_reader_loads(monkeypatch: Any) -> tuple[Any, access.AccessState]:
    organization = make_org(credits=None)
    assert not access.can_pay(organization.pk)
    fastcache.forget(access.access_cache_key(organization.pk))  # the reader below starts cold
    original = access.load_access_state

    def load_then_top_up(organization_id: int) -> access.AccessState:
        stale = original(organization_id)
        wallet_credit(organization=organization, amount=Decimal("5"), reason="Top-up", actor=None)
        return stale

    monkeypatch.setattr(access, "load_access_state", load_then_top_up)
    loaded = access.refresh_access_state(organization.pk)
    monkeypatch.setattr(access, "load_access_state", original)
    return organization, loaded


def _assert_the_stale_answer_was_not_kept(organization: Any, loaded: access.AccessState) -> None:
    assert loaded.has_credits is False  # what the reader saw
    assert Wallet.objects.get(organization=organization).balance == Decimal("5")
    assert fastcache.get(access.access_cache_key(organization.pk)) is None
    assert access.can_pay(organization.pk) is True
    # The next reader caches the current answer as usual.
    assert fastcache.get(access.access_cache_key(organization.pk)).has_credits is True


@pytest.mark.django_db(transaction=True)
def test_a_stale_read_is_not_cached_in_the_local_cache(monkeypatch: Any, settings: Any) -> None:
    settings.REDIS_URL = ""
    fastcache._redis.cache_clear()
    try:
        _assert_the_stale_answer_was_not_kept(*_a_top_up_lands_while_a_reader_loads(monkeypatch))
    finally:
        fastcache._redis.cache_clear()


@pytest.mark.redis
@pytest.mark.skipif(not redis_available(), reason="REDIS_URL is not set or Redis is not reachable")
@pytest.mark.django_db(transaction=True)
def test_a_stale_read_is_not_cached_in_redis(monkeypatch: Any) -> None:
    fastcache._redis.cache_clear()
    assert fastcache._redis() is not None
    _assert_the_stale_answer_was_not_kept(*_a_top_up_lands_while_a_reader_loads(monkeypatch))
