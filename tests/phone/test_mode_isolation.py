"""Test mode as a sandbox for phone data: a test key reads and writes test objects only, a live key
live objects only, and an id from the other mode answers exactly as another business's id does.

The matrix runs every phone endpoint that takes an id or lists, from both sides: a live key at test
objects and a test key at live objects, next to the same request for another business's object.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AuditEntry, Organization
from phone import services
from phone.backends import local
from phone.models import AiConfig, BusinessNumber, Call, Contact, Message, SmsOptOut
from tests.conftest import ApiClient, make_key

from .conftest import events, make_call

LIVE_CALLER, TEST_CALLER = "+14155550123", "+14155550177"


@dataclass
class World:
    """One business with the same kind of data in both modes, and a second business."""

    org: Organization
    keys: dict[str, ApiClient]  # mode → a full-scope key of `org`
    calls: dict[str, Call]  # mode → a finished call with transcript and recording
    contacts: dict[str, Contact]  # mode → a contact created through that mode's key
    theirs: dict[str, str]  # kind → the other business's id of that kind


@pytest.fixture
def world(org: Organization, other_org: Organization) -> World:
    keys = {mode: ApiClient(make_key(org, mode=mode)) for mode in ("live", "test")}
    calls = {
        "live": make_call(org, caller=LIVE_CALLER, recording=True, mode="live"),
        "test": make_call(org, caller=TEST_CALLER, recording=True, mode="test"),
    }
    contacts = {}
    for mode, client in keys.items():
        created = client.post("/contacts", {"phoneNumber": "+14155550188", "name": f"Sam ({mode})"})
        assert created.status_code == 201, created.body
        contacts[mode] = Contact.objects.get(public_id=created.body["data"]["id"])
    their_call = make_call(other_org, recording=True)
    their_contact = services.contact_create(organization=other_org, mode="live", phone_number="+14155550199")
    return World(org, keys, calls, contacts, {"call": their_call.public_id, "contact": their_contact.public_id})


def _other(mode: str) -> str:
    return "test" if mode == "live" else "live"


# Every phone route that takes an id: (method, path template, kind of id, body).
ID_ROUTES = [
    ("GET", "/calls/{id}", "call", None),
    ("GET", "/calls/{id}/transcript", "call", None),
    ("GET", "/calls/{id}/recording", "call", None),
    ("GET", "/contacts/{id}", "contact", None),
    ("PATCH", "/contacts/{id}", "contact", {"name": "Changed"}),
    ("DELETE", "/contacts/{id}", "contact", None),
]


def _error_without(response: Any, public_id: str) -> dict[str, Any]:
    """The error body with the id asked for and the request id taken out: what must not differ."""
    error = dict(response.body["error"])
    error.pop("requestId")
    error["message"] = error["message"].replace(public_id, "<id>")
    return error


@pytest.mark.parametrize("key_mode", ["live", "test"])
@pytest.mark.parametrize(("method", "path", "kind", "body"), ID_ROUTES)
def test_an_id_of_the_other_mode_answers_exactly_as_another_business_id(
    world: World, key_mode: str, method: str, path: str, kind: str, body: Any
) -> None:
    client = world.keys[key_mode]
    other_mode_id = (world.calls if kind == "call" else world.contacts)[_other(key_mode)].public_id

    crossed = client.request(method, path.format(id=other_mode_id), body)
    foreign = client.request(method, path.format(id=world.theirs[kind]), body)

    assert crossed.status_code == foreign.status_code == 404
    assert crossed.body["success"] is False
    assert crossed.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert _error_without(crossed, other_mode_id) == _error_without(foreign, world.theirs[kind])
    # And the object of the key's own mode is there through the same route.
    own_id = (world.calls if kind == "call" else world.contacts)[key_mode].public_id
    assert client.request(method, path.format(id=own_id), body).status_code == 200


@pytest.mark.parametrize("key_mode", ["live", "test"])
def test_a_patch_through_the_other_mode_changes_nothing(world: World, key_mode: str) -> None:
    target = world.contacts[_other(key_mode)]
    before = Contact.objects.values().get(pk=target.pk)
    events_before = len(events(world.org))

    response = world.keys[key_mode].patch(f"/contacts/{target.public_id}", {"name": "Hijacked", "company": "X"})

    assert response.status_code == 404
    assert Contact.objects.values().get(pk=target.pk) == before
    assert len(events(world.org)) == events_before


@pytest.mark.parametrize("key_mode", ["live", "test"])
def test_lists_show_only_the_key_mode(world: World, key_mode: str) -> None:
    client = world.keys[key_mode]
    calls = [c["id"] for c in client.get("/calls?limit=100").body["data"]]
    contacts = {c["id"] for c in client.get("/contacts?limit=100").body["data"]}

    assert calls == [world.calls[key_mode].public_id]
    own_caller = world.calls[key_mode].contact
    assert own_caller is not None
    assert contacts == {world.contacts[key_mode].public_id, own_caller.public_id}
    assert Contact.objects.filter(public_id__in=contacts).exclude(mode=key_mode).count() == 0


@pytest.mark.parametrize("key_mode", ["live", "test"])
@pytest.mark.parametrize(
    "query",
    [
        "direction=inbound",
        "dateRange=7d",
        "search=555",  # a number fragment every call of both modes matches
        "search=opening hours",  # summary text both calls share
    ],
)
def test_call_filters_never_cross_modes(world: World, key_mode: str, query: str) -> None:
    response = world.keys[key_mode].get(f"/calls?{query}&limit=100")
    assert response.status_code == 200, response.body
    assert [c["id"] for c in response.body["data"]] == [world.calls[key_mode].public_id]


@pytest.mark.parametrize("key_mode", ["live", "test"])
def test_contact_search_never_crosses_modes(world: World, key_mode: str) -> None:
    # Both modes hold a contact with this very number; each key finds its own.
    response = world.keys[key_mode].get("/contacts?search=%2B14155550188")
    assert [c["id"] for c in response.body["data"]] == [world.contacts[key_mode].public_id]
    assert response.body["data"][0]["name"] == f"Sam ({key_mode})"


@pytest.mark.parametrize("key_mode", ["live", "test"])
def test_cursors_walk_only_the_key_mode_even_when_taken_from_the_other(org: Organization, key_mode: str) -> None:
    base = timezone.now() - datetime.timedelta(days=1)
    made: dict[str, list[str]] = {"live": [], "test": []}
    for i in range(6):  # interleaved in time, so a page boundary of one mode falls between the other's rows
        mode = "live" if i % 2 == 0 else "test"
        call = make_call(org, started_at=base + datetime.timedelta(minutes=i), transcript=False, mode=mode)
        made[mode].append(call.public_id)
    clients = {mode: ApiClient(make_key(org, mode=mode)) for mode in made}
    client, other = clients[key_mode], clients[_other(key_mode)]

    seen, cursor = [], None
    while True:
        page = client.get("/calls?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        seen += [c["id"] for c in page.body["data"]]
        cursor = page.body["pagination"]["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made[key_mode]))

    # A cursor the other mode handed out is only a position: this key still sees its own rows after it.
    foreign_cursor = other.get("/calls?limit=1").body["pagination"]["nextCursor"]
    after = [c["id"] for c in client.get(f"/calls?limit=100&cursor={foreign_cursor}").body["data"]]
    assert after and set(after) <= set(made[key_mode])


def test_the_same_number_is_a_contact_in_each_mode_but_unique_within_one(world: World) -> None:
    assert world.contacts["live"].phone_number == world.contacts["test"].phone_number
    assert (world.contacts["live"].mode, world.contacts["test"].mode) == ("live", "test")
    for client in world.keys.values():
        again = client.post("/contacts", {"phoneNumber": "+14155550188"})
        assert again.status_code == 400
        assert again.body["error"]["code"] == "VALIDATION_ERROR" and "phoneNumber" in again.body["error"]["fields"]
    # Renaming a test contact onto a number only a live contact holds is fine in test mode.
    moved = world.keys["test"].patch(f"/contacts/{world.contacts['test'].public_id}", {"phoneNumber": LIVE_CALLER})
    assert moved.status_code == 200, moved.body


def test_contact_events_carry_the_contact_mode(world: World) -> None:
    created = {e["data"]["id"]: e["_mode"] for e in events(world.org, "contact.created")}
    assert created[world.contacts["live"].public_id] == "live"
    assert created[world.contacts["test"].public_id] == "test"
    world.keys["test"].patch(f"/contacts/{world.contacts['test'].public_id}", {"name": "Renamed"})
    (updated,) = events(world.org, "contact.updated")
    assert (updated["data"]["id"], updated["_mode"], updated["livemode"]) == (
        world.contacts["test"].public_id,
        "test",
        False,
    )


def test_calls_and_what_follows_them_are_in_the_call_mode(world: World) -> None:
    test_call = world.calls["test"]
    assert test_call.contact is not None and test_call.contact.mode == "test"
    follow = [e for e in events(world.org) if e["data"].get("id") == test_call.public_id or e["data"].get("callId")]
    assert {e["type"] for e in follow} >= {"call.started", "transcript.ready", "call.completed"}
    by_call = {e["data"].get("callId") or e["data"]["id"]: e["_mode"] for e in follow}
    assert by_call[test_call.public_id] == "test" and by_call[world.calls["live"].public_id] == "live"


# --- Messages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_mode", ["live", "test"])
def test_a_text_links_only_the_contact_of_its_own_mode(world: World, sms_ready: BusinessNumber, key_mode: str) -> None:
    response = world.keys[key_mode].post("/messages", {"to": "+14155550188", "body": "Hi Sam"})
    assert response.status_code == 201, response.body
    assert response.body["data"]["mode"] == key_mode
    assert response.body["data"]["contactId"] == world.contacts[key_mode].public_id

    # A number only the other mode knows as a contact is no contact of this mode.
    other_caller = TEST_CALLER if key_mode == "live" else LIVE_CALLER
    stranger = world.keys[key_mode].post("/messages", {"to": other_caller, "body": "Hi"})
    assert stranger.status_code == 201 and stranger.body["data"]["contactId"] is None


def test_opt_outs_bind_only_their_own_mode(world: World, sms_ready: BusinessNumber) -> None:
    SmsOptOut.objects.create(organization=world.org, mode="live", phone_number=LIVE_CALLER, keyword="STOP")
    SmsOptOut.objects.create(organization=world.org, mode="test", phone_number=TEST_CALLER, keyword="STOP")
    live, test = world.keys["live"], world.keys["test"]

    assert live.post("/messages", {"to": LIVE_CALLER, "body": "Hi"}).body["error"]["code"] == "RECIPIENT_OPTED_OUT"
    assert test.post("/messages", {"to": TEST_CALLER, "body": "Hi"}).body["error"]["code"] == "RECIPIENT_OPTED_OUT"
    assert live.post("/messages", {"to": TEST_CALLER, "body": "Hi"}).status_code == 201
    assert test.post("/messages", {"to": LIVE_CALLER, "body": "Hi"}).status_code == 201

    # A contact shows its own mode's opt-out, in the list and alone.
    test_caller = world.calls["test"].contact
    assert test_caller is not None
    assert test.get(f"/contacts/{test_caller.public_id}").body["data"]["smsOptedOut"] is True
    listed = {c["id"]: c["smsOptedOut"] for c in test.get("/contacts").body["data"]}
    assert listed[test_caller.public_id] is True and listed[world.contacts["test"].public_id] is False


def test_a_simulated_test_stop_never_blocks_a_live_text(org: Organization, sms_ready: BusinessNumber) -> None:
    services.sms_receive(to_number=sms_ready.e164, from_number=LIVE_CALLER, body="STOP", mode="test")
    assert SmsOptOut.objects.get(organization=org).mode == "test"
    assert ApiClient(make_key(org)).post("/messages", {"to": LIVE_CALLER, "body": "Hi"}).status_code == 201


# --- AI config ------------------------------------------------------------------------------------


def _quiet_now(org: Organization) -> dict[str, str]:
    """A quiet-hours window around the present moment in the business's time zone."""
    local = timezone.now().astimezone(ZoneInfo(org.timezone))
    start, end = local - datetime.timedelta(hours=1), local + datetime.timedelta(hours=1)
    return {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def test_test_mode_quiet_hours_never_stop_a_live_text(
    org: Organization, sms_ready: BusinessNumber, api: ApiClient, test_api: ApiClient
) -> None:
    """Issue 15: a quiet-hours change made with a test key made a later live POST /messages fail."""
    changed = test_api.patch("/config", {"smsQuietHours": _quiet_now(org)})
    assert changed.status_code == 200, changed.body

    live = api.post("/messages", {"to": "+14155552671", "body": "Your order is ready"})
    assert live.status_code == 201, live.body
    assert live.body["data"]["mode"] == "live" and live.body["data"]["status"] == "sent"

    # The change is real in test mode: a test text now meets the quiet hours it set.
    test = test_api.post("/messages", {"to": "+14155552671", "body": "Your order is ready"})
    assert test.status_code == 422 and test.body["error"]["code"] == "QUIET_HOURS"
    assert api.get("/config").body["data"]["smsQuietHours"] == {"start": "00:00", "end": "00:00"}


def test_live_quiet_hours_still_apply_to_live_texts(
    org: Organization, sms_ready: BusinessNumber, api: ApiClient, test_api: ApiClient
) -> None:
    test_api.get("/config")  # the test copy exists before the live change, and stays as it was
    api.patch("/config", {"smsQuietHours": _quiet_now(org)})
    assert api.post("/messages", {"to": "+14155552671", "body": "Hi"}).body["error"]["code"] == "QUIET_HOURS"
    assert test_api.post("/messages", {"to": "+14155552671", "body": "Hi"}).status_code == 201


def test_the_test_config_is_a_copy_of_the_live_one_made_on_first_read(
    org: Organization, api: ApiClient, test_api: ApiClient
) -> None:
    api.patch("/config", {"greeting": "Welcome to Acme!", "language": "es-US", "voicemailEnabled": False})
    assert not AiConfig.objects.filter(organization=org, mode="test").exists()

    copied = test_api.get("/config").body["data"]

    live = api.get("/config").body["data"]
    assert {k: v for k, v in copied.items() if k != "updatedAt"} == {k: v for k, v in live.items() if k != "updatedAt"}
    assert AiConfig.objects.filter(organization=org).count() == 2
    test_api.get("/config")
    assert AiConfig.objects.filter(organization=org).count() == 2


def test_a_test_key_change_leaves_the_live_config_and_the_business_time_zone_alone(
    org: Organization, api: ApiClient, test_api: ApiClient
) -> None:
    live_before = api.get("/config").body["data"]
    changed = test_api.patch(
        "/config",
        {"greeting": "Test greeting", "timezone": "Asia/Tokyo", "businessHours": {}, "callHandlingMode": "ai_first"},
    )
    assert changed.status_code == 200, changed.body
    assert changed.body["data"]["timezone"] == "Asia/Tokyo"
    assert test_api.get("/config").body["data"]["greeting"] == "Test greeting"

    assert api.get("/config").body["data"] == live_before
    org.refresh_from_db()
    assert org.timezone != "Asia/Tokyo"
    entry = AuditEntry.objects.get(organization=org, action="ai_config.updated")
    assert entry.metadata == {"fields": ["greeting", "timezone"], "mode": "test"}


def test_a_test_key_change_first_copies_then_changes_only_the_copy(
    org: Organization, api: ApiClient, test_api: ApiClient
) -> None:
    api.patch("/config", {"greeting": "Live hello"})
    test_api.patch("/config", {"language": "fr-CA"})  # the first test-mode touch is a write
    test = test_api.get("/config").body["data"]
    assert (test["greeting"], test["language"]) == ("Live hello", "fr-CA")
    assert api.get("/config").body["data"]["language"] == "en-US"


def test_date_filters_of_a_test_key_read_the_test_time_zone(org: Organization, test_api: ApiClient) -> None:
    # Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 hours apart: the same calendar date never
    # overlaps between them (a fixed date, so the test does not depend on the hour it runs at).
    org.timezone = "Pacific/Pago_Pago"
    org.save(update_fields=["timezone"])
    assert test_api.patch("/config", {"timezone": "Pacific/Kiritimati"}).status_code == 200
    started = datetime.datetime(2026, 6, 1, 0, 0, 1, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    test_call = make_call(org, started_at=started, transcript=False, finished=False, mode="test")
    make_call(org, started_at=started, transcript=False, finished=False, mode="live")

    june_first = "/calls?dateRange=2026-06-01,2026-06-01"
    assert [c["id"] for c in test_api.get(june_first).body["data"]] == [test_call.public_id]
    assert ApiClient(make_key(org)).get(june_first).body["data"] == []


def test_keyword_replies_use_the_help_text_of_their_mode(org: Organization, sms_ready: BusinessNumber) -> None:
    services.ai_config_update(organization=org, actor=None, sms_help_reply="Live help")
    services.ai_config_update(organization=org, actor=None, mode="test", sms_help_reply="Test help")

    services.sms_receive(to_number=sms_ready.e164, from_number=LIVE_CALLER, body="HELP", mode="test")
    services.sms_receive(to_number=sms_ready.e164, from_number=LIVE_CALLER, body="HELP")
    replies = Message.objects.filter(direction="outbound").order_by("created_at")
    assert [(m.mode, m.body) for m in replies] == [("test", "Test help"), ("live", "Live help")]
    assert [sms.body for sms in local.outbox] == ["Live help"]  # only the live reply reached a carrier


@pytest.mark.parametrize("mode", ["live", "test"])
def test_an_appointment_cannot_join_a_contact_and_call_of_different_modes(org: Organization, mode: str) -> None:
    call = make_call(org, mode=mode)
    other = services.contact_create(organization=org, mode=_other(mode), phone_number="+14155550166")
    with pytest.raises(ValueError, match="same mode"):
        services.appointment_book(
            organization=org, contact=other, call=call, service="Cleaning", starts_at=timezone.now()
        )


def test_error_messages_of_the_other_mode_do_not_reveal_it(world: World) -> None:
    response = world.keys["test"].get(f"/calls/{world.calls['live'].public_id}")
    assert not re.search(r"\b(live|test)\b", response.body["error"]["message"], re.IGNORECASE)


def test_the_test_copy_takes_every_setting_the_sensitive_ones_included(org: Organization) -> None:
    services.ai_config_staff_update(
        organization=org, actor=None, payments_enabled=True, spam_blocked_numbers=["+14155550100"]
    )
    services.ai_config_update(organization=org, actor=None, greeting="Hi", sms_help_reply="Call us")
    live = services.ai_config_for(organization=org)
    test = services.ai_config_for(organization=org, mode="test")
    own = {"id", "mode", "test_timezone", "updated_at"}
    assert {k: v for k, v in model_to_dict(test).items() if k not in own} == {
        k: v for k, v in model_to_dict(live).items() if k not in own
    }
    assert (test.mode, test.test_timezone, test.pk != live.pk) == ("test", org.timezone, True)
