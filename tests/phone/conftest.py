"""Fixtures for phone data: a business number that can text, recordings in a temporary MEDIA_ROOT,
and helpers that build calls through the services (so the events are real)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Organization
from phone import services
from phone.backends import local
from phone.models import AiConfig, BusinessNumber, Call
from phone.services import Turn

BUSINESS_NUMBER = "+12125550100"


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


@pytest.fixture(autouse=True)
def _empty_outbox() -> None:
    local.outbox.clear()


@pytest.fixture
def sms_number(org: Organization) -> BusinessNumber:
    return services.business_number_add(organization=org, number=BUSINESS_NUMBER, label="Main line")


@pytest.fixture
def sms_ready(sms_number: BusinessNumber, org: Organization) -> BusinessNumber:
    """A number to text from and no quiet hours, so send tests do not depend on the hour they run at."""
    config = services.ai_config_for(organization=org)
    AiConfig.objects.filter(pk=config.pk).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )
    return sms_number


def make_call(
    org: Organization,
    *,
    started_at: datetime.datetime | None = None,
    direction: str = "inbound",
    caller: str = "+14155550123",
    name: str = "",
    summary: str = "Asked about opening hours.",
    transcript: bool = True,
    recording: bool = False,
    finished: bool = True,
    mode: str = "live",
) -> Call:
    started_at = started_at or timezone.now() - datetime.timedelta(hours=1)
    business = BUSINESS_NUMBER
    call = services.call_start(
        organization=org,
        direction=direction,
        from_number=caller if direction == "inbound" else business,
        to_number=business if direction == "inbound" else caller,
        started_at=started_at,
        contact_name=name,
        agent_name="Receptionist",
        mode=mode,
    )
    if transcript:
        services.call_transcript_save(
            call=call,
            turns=[
                Turn("caller", "Hi, are you open Saturday?", 2500),
                Turn("agent", "Thanks for calling! How can I help?", 400),
                Turn("agent", "Yes, from 9 to 1.", 5200),
            ],
        )
    if recording:
        services.call_recording_attach(call=call, audio=b"RIFF....WAVEfmt fake-audio-bytes", duration_seconds=3)
    if finished:
        services.call_complete(
            call=call,
            ended_at=started_at + datetime.timedelta(minutes=2),
            summary=summary,
            outcome=Call.Outcome.QUESTION_ANSWERED,
        )
    return call


def events(org: Organization, type: str | None = None) -> list[dict[str, Any]]:
    """Event payloads the organisation emitted, oldest first."""
    from webhooks.models import Event

    rows = Event.objects.filter(organization=org).order_by("created_at", "id")
    if type:
        rows = rows.filter(type=type)
    return [{**json.loads(e.body), "_mode": e.mode} for e in rows]
