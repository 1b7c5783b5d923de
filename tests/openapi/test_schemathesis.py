"""Schemathesis against the running app: every operation of the OpenAPI document, every check.

A live server (pytest-django's `live_server`, a real HTTP server in this process) serves a seeded
organisation: calls with transcripts, recordings, voicemail and appointments, contacts, texts, a
webhook endpoint with deliveries, and keys to revoke and rotate. `schemathesis run` drives it over
HTTP with a full-scope test key and fails this test on any server error, any response that breaks
the document (status, body, headers, content type), and any valid request refused or invalid
request accepted. Its report is printed when it fails. Webhook and tool URLs that schemathesis makes
up are never reached: the app's outbound connections are held to loopback for the run.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone

from accounts.models import Organization
from billing.access import invalidate_access_state
from billing.models import Plan
from developer.scopes import ALL_SCOPES
from developer.services import api_key_create
from phone import services as phone
from phone.models import AiConfig, Call, Contact
from phone.services import Turn
from tests.conftest import ensure_plans, make_org
from webhooks import services as webhooks
from webhooks.models import Delivery

from .conftest import Receiver

pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")

# The live server thread must see committed rows; a run takes minutes, so the inner loop skips it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Fixed so a CI failure can be reproduced locally; change it to explore other inputs. Extra CLI
# arguments (e.g. `--include-tag calls`) narrow a local run; CI passes none.
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "360"))
EXTRA_ARGS = shlex.split(os.environ.get("SCHEMATHESIS_EXTRA_ARGS", ""))
BUSINESS_NUMBER = "+12125550100"

# The document's tags in three shards of about the same cost, each its own test, so xdist runs them
# on three workers at once instead of one run being half of the suite's time. Stateful scenarios
# chain operations within a shard (create → get → update → delete of one resource share a tag).
SHARDS = {
    "webhooks": ["webhooks", "events"],
    "agents-tools": ["agents", "data-fields", "tools", "knowledge-bases"],
    "calls-contacts-keys": ["calls", "contacts", "keys", "config", "messages", "usage"],
}


def _document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations_tagged(tags: list[str]) -> int:
    paths = _document()["paths"].values()
    return sum(
        1 for ops in paths for op in ops.values() if isinstance(op, dict) and set(op.get("tags", [])) & set(tags)
    )


@pytest.fixture(autouse=True)
def _plans(transactional_db: Any) -> None:
    """A transactional test truncates every table afterwards, the plans seeded by migrations included."""

    ensure_plans()


def seed_organization(receiver_url: str) -> tuple[Organization, str, dict[str, str]]:
    """An organisation whose every resource exists, a full-scope test key, and the ids to test with."""
    org = make_org("Schemathesis Dental")
    # Thousands of requests in a few minutes: lift this plan's per-key limit for the run.
    Plan.objects.filter(subscriptions__organization=org).update(rate_limit_per_minute=1_000_000)
    invalidate_access_state(org.pk)
    _, secret = api_key_create(organization=org, name="Schemathesis", mode="test", scopes=list(ALL_SCOPES), actor=None)
    revocable, _ = api_key_create(organization=org, name="To revoke", mode="test", scopes=["read:calls"], actor=None)
    rotatable, _ = api_key_create(organization=org, name="To rotate", mode="test", scopes=["read:calls"], actor=None)

    # Quiet hours off so a valid text can be sent whatever the hour of the run.
    phone.business_number_add(organization=org, number=BUSINESS_NUMBER, label="Main line")
    AiConfig.objects.filter(pk=phone.ai_config_for(organization=org).pk).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )

    # Subscribed before anything happens, so every event below is a delivery to look at.
    endpoint, _ = webhooks.endpoint_create(
        organization=org, url=f"{receiver_url}/hooks", events=["*"], description="Local receiver", actor=None
    )
    doomed, _ = webhooks.endpoint_create(
        organization=org, url=f"{receiver_url}/doomed", events=["sms.sent"], actor=None
    )

    started = timezone.now() - datetime.timedelta(hours=2)
    call = phone.call_start(
        organization=org,
        direction="inbound",
        from_number="+14155550123",
        to_number=BUSINESS_NUMBER,
        started_at=started,
        contact_name="Jordan Lee",
        agent_name="Receptionist",
        mode="test",  # what the run's test key reads
    )
    phone.call_transcript_save(
        call=call,
        turns=[
            Turn("agent", "Thanks for calling! How can I help?", 400),
            Turn("caller", "I'd like a cleaning next Tuesday.", 2500),
        ],
    )
    phone.call_recording_attach(call=call, audio=b"RIFF\x24\x00\x00\x00WAVEfmt synthetic", duration_seconds=3)
    assert call.contact is not None  # call_start made the caller a contact
    phone.appointment_book(
        organization=org,
        contact=call.contact,
        call=call,
        service="Cleaning",
        starts_at=started + datetime.timedelta(days=7),
        notes="First visit",
    )
    phone.call_complete(
        call=call,
        ended_at=started + datetime.timedelta(minutes=3),
        summary="Booked a cleaning.",
        outcome=Call.Outcome.APPOINTMENT_BOOKED,
    )
    voicemail_call = phone.call_start(
        organization=org,
        direction="inbound",
        from_number="+14155550124",
        to_number=BUSINESS_NUMBER,
        started_at=started + datetime.timedelta(minutes=10),
        mode="test",
    )
    voicemail_call.ended_at = voicemail_call.started_at + datetime.timedelta(seconds=40)
    phone.voicemail_create(call=voicemail_call, transcription="Please call me back.", duration_seconds=30)
    phone.call_complete(call=voicemail_call, ended_at=voicemail_call.ended_at, status=Call.Status.VOICEMAIL)
    phone.call_start(
        organization=org, direction="outbound", from_number=BUSINESS_NUMBER, to_number="+14155550125", mode="test"
    )
    phone.contact_create(
        organization=org,
        phone_number="+14155550126",
        name="Sam Rivera",
        email="sam@example.com",
        company="Rivera & Co",
        mode="test",
    )
    phone.sms_receive(to_number=BUSINESS_NUMBER, from_number="+14155550127", body="STOP", provider_message_id="SM1")
    phone.sms_send(organization=org, to_number="+14155550123", body="See you Tuesday!", mode="test")

    delivery = Delivery.objects.filter(endpoint=endpoint).order_by("-created_at").first()
    assert delivery is not None and Delivery.objects.filter(endpoint=endpoint).count() >= 8
    contact = Contact.objects.get(organization=org, phone_number="+14155550126")
    ids = {
        "call_id": call.public_id,
        "contact_id": contact.public_id,
        "webhook_id": endpoint.public_id,
        "delivery_id": delivery.public_id,
        "key_id": revocable.public_id,
    }
    per_operation = {
        "rotateKey": {"key_id": rotatable.public_id},
        "deleteWebhook": {"webhook_id": doomed.public_id},
    }
    return (
        org,
        secret,
        {**ids, **{f"{op}:{name}": value for op, params in per_operation.items() for name, value in params.items()}},
    )


def seed_managed_resources(base_url: str, secret: str, receiver_url: str) -> dict[str, str]:
    """Tools, agents and data fields created through the public API, two of each: one to work on and
    one for the delete operation, so deleting does not leave the other operations only 404s.

    Created over HTTP rather than by their services so this test does not depend on those services'
    signatures; an operation whose create fails simply keeps generated (unknown) ids.
    """
    headers = {"Authorization": f"Bearer {secret}"}

    def tool(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "description": "Look up an order by its number.",
            "endpointUrl": f"{receiver_url}/tool",
            "inputSchema": {"type": "object", "properties": {"orderId": {"type": "string"}}},
        }

    def agent(key: str) -> dict[str, Any]:
        return {
            "agentKey": key,
            "displayName": key.title(),
            "instructions": "You handle billing questions.",
            "matchHints": ["invoice"],
        }

    bodies = {
        "tool_id": ("/tools", tool("lookup_order")),
        "deleteTool:tool_id": ("/tools", tool("cancel_order")),
        "agent_id": ("/agents", agent("billing")),
        "deleteAgent:agent_id": ("/agents", agent("support")),
        "field_id": ("/data-fields", {"key": "invoice_number", "label": "Invoice number"}),
        "deleteDataField:field_id": ("/data-fields", {"key": "serial_number", "label": "Serial number"}),
    }
    ids: dict[str, str] = {}
    for name, (path, body) in bodies.items():
        response = httpx.post(base_url + path, json=body, headers=headers, timeout=30)
        if response.status_code == 201:
            ids[name] = response.json()["data"]["id"]
    return ids


def config_with_parameters(path: Path, ids: dict[str, str]) -> Path:
    """This directory's schemathesis.toml plus the seeded ids as fixed path parameters."""
    text = CONFIG.read_text()
    operation_pins: dict[str, list[str]] = {}
    lines = ["", "[parameters]"]
    for name, value in sorted(ids.items()):
        if ":" in name:
            operation, parameter = name.split(":", 1)
            operation_pins.setdefault(operation, []).append(f'"{parameter}" = "{value}"')
        else:
            lines.append(f'"path.{name}" = "{value}"')
    for operation, pins in operation_pins.items():
        lines += [
            "",
            "[[operations]]",
            f'include-operation-id = "{operation}"',
            "parameters = { " + ", ".join(pins) + " }",
        ]
    path.write_text(text + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("shard", list(SHARDS))
def test_every_operation_passes_every_schemathesis_check(
    shard: str, live_server: Any, settings: Any, tmp_path: Path, loopback_only_network: None
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE = 1_000_000  # the auth checks send many keyless requests
    base_url = f"{live_server.url}/api/public/v1"
    with Receiver() as receiver:
        _, secret, ids = seed_organization(receiver.url)
        ids.update(seed_managed_resources(base_url, secret, receiver.url))
        config = config_with_parameters(tmp_path / "schemathesis.toml", ids)

        # One schemathesis worker: with two threads, Hypothesis parses lambda sources concurrently and
        # CPython 3.11.7 (gh-106905) can fail that with "AST constructor recursion depth mismatch".
        # The shards run side by side instead. (SQLite's live server also serves one request at a time.)
        workers = 1
        env = {**os.environ, "AIP_BASE_URL": base_url, "AIP_API_KEY": secret, "NO_COLOR": "1"}
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{base_url}/openapi.json",
            "--checks",
            "all",
            "--seed",
            str(SEED),
            "--workers",
            str(workers),
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path / "report"),
            *[arg for tag in SHARDS[shard] for arg in ("--include-tag", tag)],
            *EXTRA_ARGS,
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    report = result.stdout + result.stderr
    print(report)
    assert result.returncode == 0, f"schemathesis found problems (seed {SEED}):\n{report[-20000:]}"
    # Every operation of the document was exercised, not just loaded.
    counts = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert counts, report[-3000:]
    selected, _, tested = map(int, counts.groups())
    assert tested == selected and (selected == _operations_tagged(SHARDS[shard]) or EXTRA_ARGS), report[-3000:]


@pytest.mark.django_db
def test_the_shards_cover_every_operation_once() -> None:
    tags = [tag for shard in SHARDS.values() for tag in shard]
    assert len(tags) == len(set(tags))
    paths = _document()["paths"].values()
    operations = [op for ops in paths for op in ops.values() if isinstance(op, dict) and "operationId" in op]
    assert all(len(set(op["tags"]) & set(tags)) == 1 for op in operations), "an operation in no shard, or in two"
    assert sum(_operations_tagged(shard) for shard in SHARDS.values()) == len(operations)
