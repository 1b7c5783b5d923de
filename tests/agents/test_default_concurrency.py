"""At most one default agent per business, even when several requests make different agents default at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from accounts.models import Organization
from agents.models import Agent
from agents.services import agent_create, agent_update
from tests.conftest import ensure_plans, is_postgres

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(
        not is_postgres(), reason="needs PostgreSQL (set DATABASE_URL) for real concurrent transactions"
    ),
]

THREADS = 8


@pytest.fixture(autouse=True)
def _seeded_plans(transactional_db: Any) -> None:
    """A transactional test truncates every table afterwards, the plans seeded by migrations included."""
    ensure_plans()


ROUNDS = 5


def test_concurrent_make_default_requests_leave_exactly_one_default(org: Organization) -> None:
    agents = [
        agent_create(
            organization=org, agent_key=f"agent{i}", display_name=f"Agent {i}", instructions="Help.", actor=None
        )
        for i in range(THREADS)
    ]
    errors: list[BaseException] = []

    for _ in range(ROUNDS):
        barrier = threading.Barrier(THREADS)

        def make_default(agent: Agent, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                agent_update(agent=agent, is_default=True, actor=None)
            except BaseException as exc:  # reported below, with the others
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=make_default, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)

        assert errors == []
        defaults = list(Agent.objects.filter(organization=org, is_default=True))
        assert len(defaults) == 1, defaults


def test_concurrent_creates_of_default_agents_leave_exactly_one_default(org: Organization) -> None:
    barrier = threading.Barrier(THREADS)
    errors: list[Any] = []

    def create(i: int) -> None:
        try:
            barrier.wait()
            agent_create(
                organization=org,
                agent_key=f"greeter{i}",
                display_name="Greeter",
                instructions="Greet.",
                is_default=True,
                actor=None,
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert Agent.objects.filter(organization=org).count() == THREADS
    assert Agent.objects.filter(organization=org, is_default=True).count() == 1
