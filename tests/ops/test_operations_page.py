"""The staff operations page in admin: backlog by organisation, failing endpoints, held deliveries, flush, heartbeats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from ops import heartbeat
from tests.webhooks.receiver import Receiver
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
URL = "/admin/ops/operations/"


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_superuser("ops@aiphone360.test", password="pw")
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_backlog_failing_endpoints_held_deliveries_flush_and_heartbeats(
    staff: Client, org: Organization, other_org: Organization, receiver: Receiver
) -> None:
    now = timezone.now()
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    endpoint_create(organization=other_org, url=receiver.url + "/other", events=["*"], actor=None)
    for n in range(3):
        emit(organization=org, type="call.completed", data={"callId": f"call_{n}"}, mode="live")
    emit(organization=other_org, type="call.completed", data={"callId": "call_x"}, mode="live")
    Delivery.objects.filter(organization=org).update(next_attempt_at=now - timedelta(minutes=12))
    Delivery.objects.filter(organization=other_org).update(
        status=Delivery.Status.HELD, next_attempt_at=None, held_since=now - timedelta(hours=3)
    )
    Endpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=now - timedelta(days=2), last_error="Answered 500; only 2xx counts as delivered."
    )
    heartbeat.beat("celery@web-7", force=True, now=now.timestamp() - 5)
    heartbeat.beat("tools@web-7", force=True, now=now.timestamp() - 600)
    heartbeat.record_flush(now=now.timestamp() - 20)

    response: Any = staff.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 pending (3 due now), 1 held." in page
    backlog = page[page.index('id="webhook-backlog"') : page.index('id="failing-endpoints"')]
    assert "Acme Dental" in backlog and "Other Business" in backlog and "12\xa0minutes" in backlog
    failing = page[page.index('id="failing-endpoints"') : page.index('id="workers"')]
    assert receiver.url in failing and "Answered 500" in failing
    assert f"{(now - timedelta(days=2) + timedelta(days=5)):%Y-%m-%d}" in failing  # when it will be disabled
    workers = page[page.index('id="workers"') :]
    assert "celery@web-7" in workers and "tools@web-7" in workers
    assert workers.count("<strong>silent</strong>") == 1  # the tools worker, quiet for 10 minutes
    assert "Last metering flush: " + f"{timezone.localtime(now - timedelta(seconds=20)):%Y-%m-%d}" in workers
    assert "Queues: default 0, tools 0." in workers


def test_the_page_is_for_staff_with_the_permission_only(org: Organization, owner: Any) -> None:
    client = Client()
    assert client.get(URL).status_code == 302  # to the admin login
    client.force_login(owner)  # a business owner is not staff
    assert client.get(URL).status_code == 302
    support = get_user_model().objects.create_user("support@aiphone360.test", password="pw", is_staff=True)
    client.force_login(support)
    assert client.get(URL).status_code == 403  # staff, but not given the operations view
    support.user_permissions.add(Permission.objects.get(codename="view_operations"))
    client.force_login(get_user_model().objects.get(pk=support.pk))
    assert client.get(URL).status_code == 200


def test_the_admin_index_links_the_page(staff: Client) -> None:
    assert URL in staff.get("/admin/").content.decode()
