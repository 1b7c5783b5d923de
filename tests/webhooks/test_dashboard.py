"""Settings → Developer → Webhooks through Django's test client: the same services as the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEntry, Organization
from tests.conftest import make_org
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create

from .receiver import Receiver, Reply

pytestmark = pytest.mark.django_db
BASE = "/settings/developer/webhooks/"


@pytest.fixture
def viewer_client(viewer: Any) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def test_the_list_shows_endpoints_with_health_and_a_failing_warning(
    org: Organization, owner_client: Client, receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], description="CRM", actor=None)
    receiver.reply(Reply(500))
    delivery_attempt(
        delivery_id=Delivery.objects.get(event=emit(organization=org, type="call.started", data={}, mode="live")).pk
    )

    page = owner_client.get(BASE).content.decode()

    assert endpoint.url in page and "CRM" in page
    assert "Failing since" in page and "0.0%" in page


def test_creating_through_the_form_shows_the_secret_once(org: Organization, owner_client: Client) -> None:
    form = owner_client.get(BASE + "new/")
    token = form.context["values"]["form_token"]

    response = owner_client.post(
        BASE + "new/",
        {"url": "https://hooks.example.com/in", "events": ["call.completed", "sms.sent"], "form_token": token},
    )

    assert response.status_code == 201
    endpoint = Endpoint.objects.get(organization=org)
    assert endpoint.events == ["call.completed", "sms.sent"]
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    again = owner_client.post(
        BASE + "new/", {"url": "https://hooks.example.com/in", "events": ["sms.sent"], "form_token": token}
    )
    assert again.status_code == 302 and Endpoint.objects.count() == 1
    assert endpoint.secret not in owner_client.get(BASE + f"{endpoint.public_id}/").content.decode()


def test_form_errors_are_shown_per_field(owner_client: Client, settings: Any) -> None:
    settings.OUTBOUND_ALLOW_LOOPBACK = False

    response = owner_client.post(BASE + "new/", {"url": "http://10.0.0.1/x"})

    assert response.status_code == 400
    assert set(response.context["errors"]) == {"url", "events"}
    assert not Endpoint.objects.exists()


def test_viewers_see_the_page_but_cannot_change_or_reveal_anything(
    org: Organization, viewer_client: Client, receiver: Receiver
) -> None:
    endpoint, _secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)

    page = viewer_client.get(BASE + f"{endpoint.public_id}/")
    assert page.status_code == 200 and "Reveal secret" not in page.content.decode()
    for path in (
        "new/",
        f"{endpoint.public_id}/secret/",
        f"{endpoint.public_id}/test/",
        f"{endpoint.public_id}/delete/",
        f"{endpoint.public_id}/toggle/",
    ):
        assert viewer_client.post(BASE + path).status_code == 403
    assert Endpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()
    assert receiver.requests == []


def test_another_business_endpoint_is_a_404(owner_client: Client, receiver: Receiver) -> None:
    theirs, _ = endpoint_create(organization=make_org("Other"), url=receiver.url, events=["*"], actor=None)

    assert owner_client.get(BASE + f"{theirs.public_id}/").status_code == 404
    assert owner_client.post(BASE + f"{theirs.public_id}/test/").status_code == 404


def test_reveal_test_rotate_toggle_replay_recover_and_delete(
    org: Organization, owner_client: Client, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    detail = BASE + f"{endpoint.public_id}/"

    revealed = owner_client.post(detail + "secret/", headers={"HX-Request": "true"})
    assert secret in revealed.content.decode()
    assert AuditEntry.objects.filter(action="webhook.secret_revealed", actor_user__isnull=False).exists()

    tested = owner_client.post(detail + "test/", headers={"HX-Request": "true"})
    assert "Test event delivered" in tested.content.decode() and len(receiver.requests) == 1

    rotated = owner_client.post(detail + "rotate/", {"overlap": "1h"})
    endpoint.refresh_from_db()
    assert endpoint.secret in rotated.content.decode() and endpoint.secret != secret

    owner_client.post(detail + "toggle/", {"enabled": "false"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "Disabled by a user" in owner_client.get(detail).content.decode()
    owner_client.post(detail + "toggle/", {"enabled": "true"})

    delivery = Delivery.objects.filter(endpoint=endpoint).first()
    assert delivery is not None
    with django_capture_on_commit_callbacks(execute=True):
        replayed = owner_client.post(detail + f"deliveries/{delivery.public_id}/replay/")
    assert replayed.status_code == 302
    assert receiver.requests[-1].headers["x-aip-event-id"] == delivery.event.public_id
    attempt_page = owner_client.get(replayed["Location"]).content.decode()
    assert "Attempt 1" in attempt_page and "X-AIP-Signature" in attempt_page

    assert owner_client.post(detail + "recover/", {"window": "24h"}).status_code == 302

    log = owner_client.get(detail + "?status=succeeded", headers={"HX-Request": "true", "HX-Target": "delivery-log"})
    assert log.content.decode().count("data-delivery=") == 2

    edit_form = owner_client.get(detail + "edit/")
    assert edit_form.status_code == 200 and edit_form.context["values"]["all_events"] is True
    edited = owner_client.post(
        detail + "edit/", {"url": receiver.url, "description": "Renamed", "events": ["contact.created"]}
    )
    assert edited.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["contact.created"] and endpoint.description == "Renamed"
    bad_edit = owner_client.post(detail + "edit/", {"url": receiver.url})
    assert bad_edit.status_code == 400 and "events" in bad_edit.context["errors"]

    assert owner_client.get(detail + "delete/").status_code == 200
    assert owner_client.post(detail + "delete/").status_code == 302
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
