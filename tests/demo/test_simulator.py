from __future__ import annotations

import datetime
import io
import random
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

import demo.seed
from accounts.models import Organization
from demo.simulator import synthetic_recording
from phone.models import (
    Appointment,
    Call,
    Contact,
    KnowledgeBase,
    Message,
    Recording,
    TranscriptTurn,
    Voicemail,
)
from tests.conftest import ApiClient

from .conftest import events


def test_simulate_creates_realistic_traffic_through_the_services(org: Organization) -> None:
    out = io.StringIO()
    call_command("simulate", "--org", org.public_id, "--calls", "40", "--days", "10", "--seed", "7", stdout=out)

    calls = Call.objects.filter(organization=org)
    assert calls.count() == 40
    assert "40 calls" in out.getvalue()
    now = timezone.now()
    assert all(now - datetime.timedelta(days=11) < c.started_at < now for c in calls)
    assert len({c.started_at.date() for c in calls}) > 3  # spread over days
    assert not calls.filter(status="in_progress").exists()
    assert TranscriptTurn.objects.filter(call__organization=org).exists()
    assert Recording.objects.filter(call__organization=org).exists()
    assert Voicemail.objects.filter(organization=org).exists()
    assert Appointment.objects.filter(organization=org).exists()
    assert Message.objects.filter(organization=org, direction="inbound").count() == 10

    emitted = Counter(e["type"] for e in events(org))
    for event_type in (
        "call.started",
        "call.completed",
        "transcript.ready",
        "voicemail.created",
        "appointment.booked",
        "sms.received",
        "contact.created",
    ):
        assert emitted[event_type] > 0, event_type
    assert emitted["call.completed"] == 40
    assert emitted["voicemail.created"] == Voicemail.objects.filter(organization=org).count()
    assert {e["_mode"] for e in events(org)} == {"live"}


def test_simulated_calls_are_served_by_the_api(org: Organization, api: ApiClient) -> None:
    call_command("simulate", "--org", org.public_id, "--calls", "15", "--seed", "3", stdout=io.StringIO())
    listed = api.get("/calls?limit=100").body["data"]
    assert len(listed) == 15
    with_recording = next(c for c in listed if c["hasRecording"])
    recording = api.get(f"/calls/{with_recording['id']}/recording")
    assert recording.status_code == 200
    with_transcript = next(c for c in listed if c["hasTranscript"])
    turns = api.get(f"/calls/{with_transcript['id']}/transcript").body["data"]["turns"]
    assert turns[0]["speaker"] == "agent" and [t["offsetMs"] for t in turns] == sorted(t["offsetMs"] for t in turns)


def test_simulate_defaults_to_the_demo_organisation_and_checks_arguments(db: Any) -> None:
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("simulate", "--calls", "2", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No organisation"):
        call_command("simulate", "--org", "biz_nope", "--calls", "2", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--calls"):
        call_command("simulate", "--org", "biz_nope", "--calls", "0", stdout=io.StringIO())

    demo.seed.demo_organization()
    call_command("simulate", "--calls", "3", "--days", "2", stdout=io.StringIO())
    assert Call.objects.filter(organization__name=demo.seed.DEMO_ORG_NAME).count() == 3


@pytest.mark.slow  # seeds the whole demo twice
def test_seed_demo_loads_phone_data_once(db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo.seed, "DEMO_KEY_FILE", tmp_path / "demo-key.txt")
    call_command("seed_demo", stdout=io.StringIO())
    org = Organization.objects.get(name=demo.seed.DEMO_ORG_NAME)
    counts = {
        model.__name__: model.objects.count()
        for model in (Call, Contact, Message, Recording, Voicemail, Appointment, KnowledgeBase)
    }
    event_count = len(events(org))

    call_command("seed_demo", stdout=io.StringIO())

    assert counts["Call"] == 60 + 12 and counts["KnowledgeBase"] == 3 and counts["Contact"] >= 3
    assert Call.objects.filter(organization=org, mode="test").count() == 12
    assert {
        model.__name__: model.objects.count()
        for model in (Call, Contact, Message, Recording, Voicemail, Appointment, KnowledgeBase)
    } == counts
    assert len(events(org)) == event_count
    assert org.phone_numbers.filter(sms_capable=True).exists()
    key = (tmp_path / "demo-key.txt").read_text().strip()
    listed = ApiClient(key).get("/calls?limit=5")
    assert listed.status_code == 200 and len(listed.body["data"]) == 5


def test_synthetic_recording_is_a_playable_wav() -> None:
    audio = synthetic_recording(2, random.Random(1))
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (1, 8000, 16000)


def test_simulated_calls_go_through_the_greeter_router_when_the_business_has_agents(org: Organization) -> None:
    from agents.services import agent_create

    desk = agent_create(
        organization=org,
        actor=None,
        agent_key="desk",
        display_name="Front desk",
        instructions="Greet.",
        is_default=True,
    )
    billing = agent_create(
        organization=org,
        actor=None,
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["charge", "bill"],
    )
    scheduling = agent_create(
        organization=org,
        actor=None,
        agent_key="scheduling",
        display_name="Scheduling",
        instructions="Book.",
        match_hints=["book"],
    )
    out = io.StringIO()
    call_command("simulate", "--org", org.public_id, "--calls", "60", "--seed", "11", stdout=out)

    calls = Call.objects.filter(organization=org).prefetch_related("turns")
    handled = Counter(c.agent_name for c in calls)
    assert set(handled) == {"Front desk", "Billing", "Scheduling"}
    for call in calls:
        first = next((t.text for t in sorted(call.turns.all(), key=lambda t: t.position) if t.speaker == "caller"), "")
        expected = billing if "charge" in first else scheduling if "book" in first else desk
        assert (call.agent_public_id, call.agent_name) == (expected.public_id, expected.display_name), first
    handed = handled["Billing"] + handled["Scheduling"]
    assert f", {handed} handed to specialists." in out.getvalue()
    completed = [e for e in events(org) if e["type"] == "call.completed"]
    assert Counter(e["data"]["agent"]["name"] for e in completed) == handled
