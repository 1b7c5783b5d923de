"""Realistic dashboard data with the long values that break layouts: a 500-character endpoint description,
long URLs, long key names and e-mail addresses, a rotation chain, revoked and expired keys, deliveries,
request logs, tool invocations, agents, data fields, invitations and usage. Used by the layout test and
the screenshot set (issue 17 points 3 and 12). Everything goes through the services, as a user would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from django.utils import timezone

from accounts.models import Role
from accounts.services import invitation_create, membership_set, user_get_or_create
from agents.models import CustomTool
from agents.services import agent_create, data_field_create, tool_create, tool_test_invoke
from billing.metering import record_usage
from billing.models import Metric
from developer import services as key_services
from developer.models import ApiKey, RequestLog
from developer.public_api import request_log
from tests.conftest import make_key, make_org
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create

PASSWORD = "correct-horse-battery"
OWNER_EMAIL = "owner@acme.test"

LONG_DESCRIPTION = (
    "Forwards every completed call, transcript and SMS status change to the practice-management bridge "
    "that our IT contractor runs in the Frankfurt data centre; it then writes a note on the patient's chart, "
    "re-books missed appointments, pages the on-call hygienist when a caller mentions swelling or bleeding, "
    "and copies everything to the compliance archive, which keeps it for ten years as the dental board asks. "
    "Owner: Dr. Maximiliane Oberhauser-Vandenberghe. Do not disable without telling the front desk first!!"
)[:500]
LONG_KEY_NAME = "Production practice-management bridge (Frankfurt) — nightly reconciliation and re-booking job"[:100]
LONG_PATH = "/hooks/practice-management/bridge/v2/tenants/sunrise-dental-group-north-east-region/events/inbound"


@dataclass
class Seeded:
    org: Any
    live_key: ApiKey
    endpoint: Endpoint
    delivery: Delivery
    tool: CustomTool
    agent_id: str
    request_id: str
    invocation_id: str


def seed_dashboard(*, receiver_url: str, live_server_url: str) -> Seeded:
    org = make_org("Sunrise Dental Group — North-East Region Practices")
    owner = user_get_or_create(email=OWNER_EMAIL, password=PASSWORD)
    membership_set(organization=org, user=owner, role=Role.OWNER)
    for email, role in (
        ("maximiliane.oberhauser-vandenberghe@sunrise-dental-group-north-east.example.com", Role.ADMIN),
        ("front.desk@acme.test", Role.VIEWER),
    ):
        membership_set(organization=org, user=user_get_or_create(email=email, password=PASSWORD), role=role)
    invitation_create(
        organization=org,
        email="hygienist.on.call.weekend.rotation@sunrise-dental-group-north-east.example.com",
        role=Role.ADMIN,
        actor=owner,
    )

    # Keys: a long name, a rotation chain, a revoked key, an expired test key.
    live_secret = make_key(org, name=LONG_KEY_NAME)
    live_key = ApiKey.objects.get(organization=org, name=LONG_KEY_NAME)
    make_key(org, name="Billing sync")
    billing = ApiKey.objects.get(organization=org, name="Billing sync")
    for _ in range(2):
        billing = key_services.api_key_rotate(key=billing, grace="24h", actor=owner)[0]
    make_key(org, mode="test", name="Staging server")
    make_key(org, name="Old CRM integration")
    key_services.api_key_revoke(key=ApiKey.objects.get(organization=org, name="Old CRM integration"), actor=owner)
    make_key(org, mode="test", name="Pilot")
    ApiKey.objects.filter(organization=org, name="Pilot").update(expires_at=timezone.now() - timedelta(days=3))

    # Request logs: long paths and query strings, successes and errors.
    with httpx.Client(base_url=f"{live_server_url}/api/public/v1") as client:
        headers = {"Authorization": f"Bearer {live_secret}"}
        for path in (
            "/keys?limit=2",
            "/calls/call_" + "4f9c2a7e1b" * 8,
            "/calls?limit=100&startingAfter=call_" + "x" * 60 + "&status=completed&direction=inbound",
            "/webhooks",
        ):
            client.get(path, headers=headers)
    request_log.flush()
    request_id = (
        RequestLog.objects.filter(organization=org).order_by("-created_at").values_list("request_id", flat=True)[0]
    )

    # A webhook endpoint with a 500-character description and a long URL, and its delivery log.
    endpoint, _secret = endpoint_create(
        organization=org,
        url=receiver_url + LONG_PATH + "?tenant=sunrise-dental-group-north-east&signature-version=2",
        events=["call.completed", "call.started", "sms.status_updated"],
        description=LONG_DESCRIPTION,
        actor=owner,
    )
    endpoint_create(
        organization=org, url=receiver_url + "/short", events=["call.completed"], description="Zapier", actor=owner
    )
    for n in range(3):
        emit(organization=org, type="call.completed", data={"callId": f"call_{n:04d}" * 6}, mode="live")
    delivery = Delivery.objects.filter(endpoint=endpoint).order_by("-created_at").first()
    assert delivery is not None

    # Custom tools with long names and URLs, one invocation, agents and data fields.
    schema = {"type": "object", "properties": {"orderNumber": {"type": "string"}}, "required": ["orderNumber"]}
    tool = tool_create(
        organization=org,
        actor=owner,
        name="lookup_patient_appointment_history_and_outstanding_balance_v2"[:64],
        description=LONG_DESCRIPTION,
        input_schema=schema,
        endpoint_url=receiver_url + LONG_PATH + "/tools/lookup-patient-appointment-history",
        auth={"type": "bearer", "token": "tok_live_9f8e7d6c5b4a3921"},
    )
    invocation = tool_test_invoke(tool=tool, arguments={"orderNumber": "A-" + "7" * 40}, actor=owner)
    agent = agent_create(
        organization=org,
        actor=owner,
        agent_key="billing_and_insurance_questions_desk"[:40],
        display_name="Billing, insurance and payment-plan questions (weekday front desk)",
        instructions=LONG_DESCRIPTION,
        match_hints=["insurance", "payment plan", "invoice", "balance", "claim status", "co-pay"],
        tools={"useCustomToolIds": [tool.public_id]},
        is_default=True,
    )
    data_field_create(
        organization=org,
        actor=owner,
        key="preferred_callback_window_and_language",
        label="Preferred call-back window and language (e.g. weekday mornings, Portuguese)",
    )

    # Usage today, so the chart has a bar to draw (the API requests above arrive at the next flush).
    for metric, quantity in ((Metric.TOOL_INVOCATIONS, 40), (Metric.WEBHOOK_ATTEMPTS, 12)):
        record_usage(
            organization=org,
            metric=metric,
            quantity=quantity,
            mode="live",
            reference=f"seed-{metric}",
            api_key_id=live_key.pk,
        )
    return Seeded(
        org=org,
        live_key=live_key,
        endpoint=endpoint,
        delivery=delivery,
        tool=tool,
        agent_id=agent.public_id,
        request_id=request_id,
        invocation_id=invocation.public_id,
    )
