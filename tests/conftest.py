"""Shared fixtures: an organisation with an active plan, its people and its keys, and an API client."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import cache
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction
from django.db.models.signals import post_migrate
from django.test import Client, TransactionTestCase

from accounts.models import Organization, Role
from accounts.services import membership_set, user_get_or_create
from billing.services import addon_grant, organization_create, subscription_set
from billing.wallet import wallet_credit
from core.ratelimit import limiter
from developer.public_api.apicount import api_counter
from developer.public_api.request_log import buffer as request_log_buffer
from developer.scopes import ALL_SCOPES
from developer.services import api_key_create

API = "/api/public/v1"

# The webhook receiver fixture (a real local HTTP server), shared by every app's tests.
from tests.webhooks.receiver import receiver as receiver  # noqa: E402


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture(autouse=True)
def _fresh_cache_and_limits() -> None:
    cache.clear()
    limiter().reset()
    request_log_buffer().clear()  # entries buffered by an earlier test must not flush into this one


@pytest.fixture(autouse=True)
def _no_leftover_api_counts() -> Iterator[None]:
    """API-request counts buffered by a test must not flush into the next test, nor at exit into a real database."""
    api_counter().reset()
    yield
    api_counter().reset()


def ensure_plans() -> None:
    """The plans the data migration seeds; a transactional test's flush empties the table for the next one."""
    from django.apps import apps

    importlib.import_module("billing.migrations.0002_seed_plans").seed(apps, None)


def ensure_reviewer_group() -> None:
    """The "Usage reviewers" group a data migration creates, with its view permissions."""
    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("billing.migrations.0005_usage_reviewers_group")
    group, _ = Group.objects.get_or_create(name=migration.GROUP)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="billing", codename__in=migration.VIEW_CODENAMES)
    )


def _reseed_after_flush(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """A transactional test ends with a flush that empties every table, data-migration rows included,
    and the next test on the same worker would find no plans and no reviewer group. Django sends
    post_migrate after that flush (once permissions exist again), so the rows come back here."""
    ensure_plans()
    ensure_reviewer_group()


post_migrate.connect(
    _reseed_after_flush, sender=django_apps.get_app_config("billing"), dispatch_uid="tests-reseed-after-flush"
)


# Tables `migrate` fills and post_migrate tops up (never emptied by the flush below, which keeps their ids).
_KEPT_BY_FLUSH = frozenset({"django_content_type", "auth_permission"})


def _flush_tables_with_rows(self: Any) -> None:  # a TransactionTestCase (the stubs omit its private methods)
    """A transactional test's teardown on PostgreSQL: Django's flush TRUNCATEs all ~60 tables, about 0.6 s a
    test (each truncated table and index gets a new file); this deletes the rows of the dozen or so tables
    that have any, in one transaction (the foreign keys are deferred, so the order does not matter), then
    sends post_migrate as the flush does, which puts back the rows data migrations seeded (_reseed_after_flush).
    SQLite (whose flush already deletes), serialized rollback and `available_apps` keep Django's own flush."""
    names = self._databases_names(include_mirrors=False)
    if (
        self.serialized_rollback
        or self.available_apps is not None
        or any(connections[name].vendor != "postgresql" for name in names)
    ):
        _django_fixture_teardown(self)
        return
    for db_name in names:
        connection = connections[db_name]
        quote = connection.ops.quote_name
        tables = [
            table
            for table in connection.introspection.django_table_names(only_existing=True, include_views=False)
            if table not in _KEPT_BY_FLUSH
        ]
        with transaction.atomic(using=db_name), connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables),
                tables,
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f"DELETE FROM {quote(table)}")
        emit_post_migrate_signal(verbosity=0, interactive=False, db=db_name)


_django_fixture_teardown = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]
TransactionTestCase._fixture_teardown = _flush_tables_with_rows  # type: ignore[attr-defined]


def make_org(
    name: str = "Acme Dental", *, plan: str = "PRO", addon: bool = True, credits: Decimal | None = Decimal("50")
) -> Organization:
    ensure_plans()
    org = organization_create(name=name)
    subscription_set(organization=org, plan_code=plan, actor=None)
    if addon:
        addon_grant(organization=org, actor=None)
    if credits:
        wallet_credit(organization=org, amount=credits, reason="Test credit", actor=None)
    return org


@pytest.fixture
def org(db: Any) -> Organization:
    return make_org()


@pytest.fixture
def other_org(db: Any) -> Organization:
    return make_org("Other Business")


@pytest.fixture
def owner(org: Organization) -> Any:
    user = user_get_or_create(email="owner@acme.test", password="correct-horse-battery")
    membership_set(organization=org, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def owner_client(owner: Any) -> Client:
    """The owner, signed in to the dashboard (without the sign-in form, which has its own tests)."""
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def viewer(org: Organization) -> Any:
    user = user_get_or_create(email="viewer@acme.test", password="correct-horse-battery")
    membership_set(organization=org, user=user, role=Role.VIEWER)
    return user


def make_key(org: Organization, *, mode: str = "live", scopes: list[str] | None = None, name: str = "Test key") -> str:
    _, secret = api_key_create(organization=org, name=name, mode=mode, scopes=scopes or list(ALL_SCOPES), actor=None)
    return secret


@pytest.fixture
def live_key(org: Organization) -> str:
    return make_key(org, mode="live")


@pytest.fixture
def test_key(org: Organization) -> str:
    return make_key(org, mode="test")


class ApiClient:
    """Django's test client speaking the public API: JSON in, parsed envelope out."""

    def __init__(self, key: str | None = None) -> None:
        self.client = Client()
        self.key = key

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Any:
        extra = dict(headers or {})
        key = key if key is not None else self.key
        if key:
            extra.setdefault("Authorization", f"Bearer {key}")
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": extra}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        response = getattr(self.client, method.lower())(API + path, **kwargs)
        response.body = json.loads(response.content) if response.content else None
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api(live_key: str) -> ApiClient:
    return ApiClient(live_key)


@pytest.fixture
def test_api(test_key: str) -> ApiClient:
    return ApiClient(test_key)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first, so xdist hands them out at the start and the run does not end on one of them."""

    def weight(item: pytest.Item) -> int:
        browser = item.get_closest_marker("browser") or item.nodeid.startswith("tests/browser/")
        return 0 if item.get_closest_marker("slow") else 1 if browser else 2

    items.sort(key=weight)  # stable: files keep their order within each group
