"""Django admin is a door too: keys are revoked through api_key_revoke (audited, refused on the very
next request) and never deleted; webhook endpoints are deleted through endpoint_delete; agents and
tools are read-only there (they change through the API or the dashboard)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEntry
from agents.models import Agent
from agents.services import agent_create
from developer.models import ApiKey
from tests.conftest import ApiClient, make_key, make_org
from webhooks.models import Endpoint, Event
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

STAFF = "staff@aiphone360.test"


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(STAFF, STAFF, "pw")
    client = Client()
    client.force_login(user)
    return client


def test_revoking_a_key_in_admin_is_audited_and_refused_on_the_next_request(staff):
    org = make_org("Acme")
    api = ApiClient(make_key(org))
    assert api.get("/keys").status_code == 200  # the key is now cached
    key = ApiKey.objects.get(organization=org)

    response = staff.post("/admin/developer/apikey/", {"action": "revoke", "index": 0, "_selected_action": [key.pk]})

    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert AuditEntry.objects.get(action="api_key.revoked", actor_label=STAFF).target_id == key.public_id
    refused = api.get("/keys")
    assert (refused.status_code, refused.body["error"]["code"]) == (401, "INVALID_API_KEY")


def test_a_key_cannot_be_deleted_in_admin(staff):
    org = make_org("Acme")
    make_key(org)
    key = ApiKey.objects.get(organization=org)
    assert staff.post(f"/admin/developer/apikey/{key.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_deleting_a_webhook_endpoint_in_admin_goes_through_endpoint_delete(staff):
    org = make_org("Acme")
    endpoint, _ = endpoint_create(organization=org, url="https://hooks.example.com/in", events=["*"], actor=None)

    response = staff.post(f"/admin/webhooks/endpoint/{endpoint.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Endpoint.objects.exists()
    entry = AuditEntry.objects.get(action="webhook.deleted", actor_label=STAFF)
    assert (entry.organization, entry.metadata) == (org, {"url": "https://hooks.example.com/in"})


def test_webhook_events_cannot_be_deleted_in_admin(staff):
    org = make_org("Acme")
    event = Event.objects.create(organization=org, type="call.completed", mode="live", body="{}")
    assert staff.post(f"/admin/webhooks/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_agents_are_read_only_in_admin(staff):
    org = make_org("Acme")
    agent = agent_create(organization=org, actor=None, agent_key="sales", display_name="Sales", instructions="Sell.")
    page = staff.get(f"/admin/agents/agent/{agent.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert staff.post(f"/admin/agents/agent/{agent.pk}/change/", {}).status_code == 403
    assert staff.get("/admin/agents/agent/add/").status_code == 403
    assert Agent.objects.get(pk=agent.pk).display_name == "Sales"
