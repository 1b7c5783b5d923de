"""Billing fixtures: plans with small quotas so boundaries are cheap to reach, and a clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from accounts.models import Organization
from billing.models import Plan
from tests.conftest import ensure_plans


def set_plan_terms(org: Organization, **terms: Any) -> Plan:
    """Edit the organisation's plan the way staff would in admin (e.g. api_requests_free=1000)."""
    plan = org.subscription.plan
    for name, value in terms.items():
        setattr(plan, name, Decimal(value) if name.endswith("_price") else value)
    plan.save()
    return plan


@pytest.fixture
def clock() -> Iterator[mock.MagicMock]:
    """Freezes `timezone.now()` for metering and reports; set `clock.return_value` to move time."""
    moment = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", autospec=True, return_value=moment) as now:
        yield now


@pytest.fixture(autouse=True)
def _plans(request: pytest.FixtureRequest) -> None:
    """Transactional tests truncate every table afterwards, seeded plans included: seed them again."""
    if "transactional_db" not in request.fixturenames and not _is_transactional(request):
        return
    request.getfixturevalue("transactional_db")

    ensure_plans()


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
