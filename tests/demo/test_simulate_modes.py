"""`manage.py simulate --mode test`: test calls answer with the test AI config, and nothing of them
shows to a live key, reaches a carrier or costs anything."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Organization
from billing.models import Wallet
from phone import services
from phone.backends import local
from phone.models import Call, Contact, Message, SmsOptOut, TranscriptTurn, Voicemail
from tests.conftest import ApiClient, make_key

from .conftest import events


def _simulate(org: Organization, *args: str) -> str:
    out = io.StringIO()
    call_command("simulate", "--org", org.public_id, "--calls", "24", "--seed", "5", *args, stdout=out)
    return out.getvalue()


def _all_ids(client: ApiClient, path: str) -> list[str]:
    ids, cursor = [], None
    while True:
        page = client.get(f"{path}?limit=10" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.body
        ids += [row["id"] for row in page.body["data"]]
        cursor = page.body["pagination"]["nextCursor"]
        if cursor is None:
            return ids


def test_test_simulation_never_shows_to_a_live_key(org: Organization) -> None:
    balance = Wallet.objects.get(organization=org).balance
    local.outbox.clear()

    out = _simulate(org, "--mode", "test")

    assert "in test mode: 24 calls" in out
    live, test = ApiClient(make_key(org, mode="live")), ApiClient(make_key(org, mode="test"))
    assert _all_ids(live, "/calls") == [] and _all_ids(live, "/contacts") == []
    test_calls = _all_ids(test, "/calls")
    assert len(test_calls) == 24 == Call.objects.filter(organization=org, mode="test").count()
    assert set(_all_ids(test, "/contacts")) == set(
        Contact.objects.filter(organization=org, mode="test").values_list("public_id", flat=True)
    )
    assert not Call.objects.filter(organization=org, mode="live").exists()
    assert not Contact.objects.filter(organization=org, mode="live").exists()
    # Texts, their keyword replies and opt-outs are test-mode too: nothing reached a carrier or was charged.
    assert set(Message.objects.filter(organization=org).values_list("mode", flat=True)) == {"test"}
    assert set(SmsOptOut.objects.filter(organization=org).values_list("mode", flat=True)) <= {"test"}
    assert local.outbox == []
    assert Wallet.objects.get(organization=org).balance == balance
    emitted = events(org)
    assert emitted and {e["_mode"] for e in emitted} == {"test"}
    assert {e["livemode"] for e in emitted} == {False}


def test_test_calls_answer_with_the_test_config_and_live_calls_with_the_live_one(org: Organization) -> None:
    services.ai_config_update(organization=org, actor=None, greeting="Acme, live line.", voicemail_enabled=True)
    services.ai_config_update(
        organization=org, actor=None, mode="test", greeting="Acme sandbox here.", voicemail_enabled=False
    )

    _simulate(org, "--mode", "test")
    _simulate(org)  # live is the default

    def greetings(mode: str) -> Counter:
        first_turns = TranscriptTurn.objects.filter(call__organization=org, call__mode=mode, position=0)
        return Counter(first_turns.values_list("text", flat=True))

    assert set(greetings("test")) == {"Acme sandbox here."}
    assert set(greetings("live")) == {"Acme, live line."}
    # Voicemail is off in the test config only: no test caller could leave one (seed 5 makes some live ones).
    assert not Voicemail.objects.filter(call__mode="test").exists()
    assert Voicemail.objects.filter(call__mode="live").exists()
    # And each key still lists only its own mode's calls.
    live_ids = set(_all_ids(ApiClient(make_key(org)), "/calls"))
    assert live_ids == set(Call.objects.filter(organization=org, mode="live").values_list("public_id", flat=True))


def test_simulate_refuses_an_unknown_mode(org: Organization) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        _simulate(org, "--mode", "staging")


def test_each_mode_routes_its_calls_through_its_own_agents_only(org: Organization) -> None:
    from agents.services import agent_create

    live = agent_create(
        organization=org, actor=None, agent_key="live_desk", display_name="Live Desk",
        instructions="Answer live calls.", is_default=True,
    )  # fmt: skip
    test = agent_create(
        organization=org, actor=None, mode="test", agent_key="sandbox_desk", display_name="Sandbox Desk",
        instructions="Answer test calls.", is_default=True,
    )  # fmt: skip

    _simulate(org, "--mode", "test")
    _simulate(org)

    def agents_of(mode: str) -> set[str]:
        return set(Call.objects.filter(organization=org, mode=mode).values_list("agent_public_id", flat=True))

    assert agents_of("test") == {test.public_id}
    assert agents_of("live") == {live.public_id}
