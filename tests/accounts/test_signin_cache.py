"""The failed-sign-in counts live in the default cache: they must hold in each backend production uses (Redis
with REDIS_URL, else the file cache shared by the processes of one machine), not only in the tests' local memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import redis_available

PASSWORD = "correct-horse-battery"


def locked_after_five_failures() -> bool:
    for n in range(5):
        Client(REMOTE_ADDR=f"10.2.0.{n}").post("/accounts/login/", {"login": "owner@acme.test", "password": "x"})
    response = Client(REMOTE_ADDR="10.2.1.1").post(
        "/accounts/login/", {"login": "owner@acme.test", "password": PASSWORD}
    )
    return response.status_code == 200 and b"Too many failed login attempts" in response.content


def test_the_file_cache_keeps_the_counts(owner: Any, settings: Any, tmp_path: Path) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    assert locked_after_five_failures()
    assert any(tmp_path.iterdir())  # the counts are files another process on this machine reads too


@pytest.mark.redis
@pytest.mark.skipif(not redis_available(), reason="REDIS_URL is not set or Redis is not reachable")
def test_redis_keeps_the_counts(owner: Any, settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.REDIS_URL}
    }
    cache.clear()
    try:
        assert locked_after_five_failures()
    finally:
        cache.clear()
