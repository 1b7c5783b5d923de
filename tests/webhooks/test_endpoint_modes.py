"""An endpoint may be limited to live events, test events or both (the default): API, fan-out, dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEntry, Organization
from tests.conftest import ApiClient
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import delivery_attempt, endpoint_create, endpoint_update

from .receiver import Receiver

pytestmark = pytest.mark.django_db
BASE = "/settings/developer/webhooks/"


def create(api: ApiClient, url: str, **extra: Any) -> Any:
    return api.post("/webhooks", {"url": url, "events": ["*"], **extra})


def test_an_endpoint_receives_both_modes_by_default_and_the_api_shows_its_modes(
    api: ApiClient, receiver: Receiver
) -> None:
    created = create(api, receiver.url)

    assert created.status_code == 201, created.body
    assert created.body["data"]["modes"] == ["live", "test"]
    webhook_id = created.body["data"]["id"]
    assert api.get(f"/webhooks/{webhook_id}").body["data"]["modes"] == ["live", "test"]
    assert api.get("/webhooks").body["data"][0]["modes"] == ["live", "test"]
    assert Endpoint.objects.get(public_id=webhook_id).modes == ["live", "test"]


def test_modes_are_set_on_create_and_changed_by_patch_in_canonical_order(api: ApiClient, receiver: Receiver) -> None:
    created = create(api, receiver.url, modes=["test"])
    assert created.status_code == 201 and created.body["data"]["modes"] == ["test"]
    webhook_id = created.body["data"]["id"]

    patched = api.patch(f"/webhooks/{webhook_id}", {"modes": ["test", "live"]})

    assert patched.status_code == 200 and patched.body["data"]["modes"] == ["live", "test"]
    assert Endpoint.objects.get(public_id=webhook_id).modes == ["live", "test"]
    audit = AuditEntry.objects.filter(action="webhook.updated", target_id=webhook_id).get()
    assert audit.metadata == {"changes": ["modes"]}


@pytest.mark.parametrize(
    "modes",
    [[], "live", None, ["production"], ["live", "live"], [1], ["LIVE"], {"live": True}, ["live", "test", "live"]],
)
def test_bad_modes_are_refused_naming_the_field_and_nothing_is_written(
    api: ApiClient, receiver: Receiver, modes: Any
) -> None:
    refused = create(api, receiver.url, modes=modes)

    assert refused.status_code == 400, refused.body
    assert refused.body["error"]["code"] == "VALIDATION_ERROR"
    assert list(refused.body["error"]["fields"]) == ["modes"]
    assert not Endpoint.objects.exists()

    webhook_id = create(api, receiver.url).body["data"]["id"]
    patched = api.patch(f"/webhooks/{webhook_id}", {"modes": modes, "description": "kept?"})
    assert patched.status_code == 400 and list(patched.body["error"]["fields"]) == ["modes"]
    endpoint = Endpoint.objects.get(public_id=webhook_id)
    assert endpoint.modes == ["live", "test"] and endpoint.description == ""


def test_a_test_only_endpoint_gets_no_live_deliveries_and_a_live_only_one_no_test_deliveries(
    org: Organization,
    api: ApiClient,
    test_api: ApiClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    live_only = create(api, receiver.url + "/live", modes=["live"]).body["data"]["id"]
    test_only = create(api, receiver.url + "/test", modes=["test"]).body["data"]["id"]
    both = create(api, receiver.url + "/both").body["data"]["id"]

    with django_capture_on_commit_callbacks(execute=True):
        live = api.post("/contacts", {"phoneNumber": "+14155550101", "name": "Live Lee"})
    with django_capture_on_commit_callbacks(execute=True):
        test = test_api.post("/contacts", {"phoneNumber": "+14155550102", "name": "Test Tess"})
    assert live.status_code == 201 and test.status_code == 201

    received = {(r.path, r.json["data"]["name"], r.json["livemode"]) for r in receiver.requests}
    assert received == {
        ("/hooks/live", "Live Lee", True),
        ("/hooks/both", "Live Lee", True),
        ("/hooks/test", "Test Tess", False),
        ("/hooks/both", "Test Tess", False),
    }
    assert [r.headers["x-aip-mode"] for r in receiver.requests if r.path == "/hooks/test"] == ["test"]
    # No delivery row at all for the excluded mode: nothing to attempt, list or meter.
    assert api.get(f"/webhooks/{live_only}/deliveries").body["data"][0]["livemode"] is True
    assert len(api.get(f"/webhooks/{live_only}/deliveries").body["data"]) == 1
    assert [d["livemode"] for d in api.get(f"/webhooks/{test_only}/deliveries").body["data"]] == [False]
    assert len(api.get(f"/webhooks/{both}/deliveries").body["data"]) == 2


def test_changing_modes_decides_later_events_only(org: Organization, receiver: Receiver) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], modes=["live"], actor=None)
    assert not Delivery.objects.filter(event=emit(organization=org, type="call.started", data={}, mode="test"))

    endpoint_update(endpoint=endpoint, modes=["test"], actor=None)
    assert not Delivery.objects.filter(event=emit(organization=org, type="call.started", data={}, mode="live"))
    assert Delivery.objects.filter(event=emit(organization=org, type="call.started", data={}, mode="test")).count() == 1


def test_send_test_event_and_replay_still_reach_an_endpoint_that_excludes_the_mode(
    org: Organization, api: ApiClient, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    webhook_id = create(api, receiver.url).body["data"]["id"]
    delivery = Delivery.objects.get(event=emit(organization=org, type="call.completed", data={}, mode="test"))
    delivery_attempt(delivery_id=delivery.pk)
    api.patch(f"/webhooks/{webhook_id}", {"modes": ["live"]})

    tested = api.post(f"/webhooks/{webhook_id}/test")
    with django_capture_on_commit_callbacks(execute=True):
        replayed = api.post(f"/webhooks/{webhook_id}/deliveries/{delivery.public_id}/replay")

    # Both are explicit requests for a delivery, not a fan-out: the button checks the receiver and a
    # replay re-sends what the endpoint already had.
    assert tested.status_code == 200 and tested.body["data"]["succeeded"] is True
    assert replayed.status_code == 202
    assert [(r.json["type"], r.json["livemode"]) for r in receiver.requests] == [
        ("call.completed", False),
        ("webhook.test", False),
        ("call.completed", False),
    ]


# --- dashboard ---------------------------------------------------------------------------------------


def test_the_dashboard_form_sets_and_changes_modes_and_the_list_shows_them(
    org: Organization, owner_client: Client
) -> None:
    form = owner_client.get(BASE + "new/")
    page = form.content.decode()
    assert 'name="modes" value="both" checked' in page and "Test only" in page

    created = owner_client.post(
        BASE + "new/",
        {"url": "https://hooks.example.com/in", "all_events": "on", "modes": "test", "form_token": "t-1"},
    )
    assert created.status_code == 201
    endpoint = Endpoint.objects.get(organization=org)
    assert endpoint.modes == ["test"]

    listing = owner_client.get(BASE).content.decode()
    assert '<span class="badge badge-test">Test</span>' in listing
    assert '<span class="badge badge-live">Live</span>' not in listing
    detail = owner_client.get(f"{BASE}{endpoint.public_id}/").content.decode()
    assert "Test only" in detail

    edit = owner_client.get(f"{BASE}{endpoint.public_id}/edit/").content.decode()
    assert 'name="modes" value="test" checked' in edit
    saved = owner_client.post(
        f"{BASE}{endpoint.public_id}/edit/", {"url": endpoint.url, "all_events": "on", "modes": "both"}
    )
    assert saved.status_code in (200, 302)
    endpoint.refresh_from_db()
    assert endpoint.modes == ["live", "test"]


def test_the_dashboard_form_refuses_an_unknown_mode_naming_it(org: Organization, owner_client: Client) -> None:
    response = owner_client.post(
        BASE + "new/",
        {"url": "https://hooks.example.com/in", "all_events": "on", "modes": "staging", "form_token": "t-2"},
    )

    assert response.status_code == 400
    assert response.context["errors"]["modes"] == ['Each mode must be "live" or "test".']
    assert not Endpoint.objects.exists()
