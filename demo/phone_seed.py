"""Phone data for the demo organisation: a number, AI settings, knowledge bases, contacts and a month of
simulated traffic, live, plus a little test-mode traffic for the demo test key to read (a test key sees
test data only). Idempotent: `make run` calls it on every start and it only fills what is missing."""

from __future__ import annotations

import random

from django.db import transaction

from accounts.models import Organization
from phone import services
from phone.models import AiConfig, Call, Contact, KnowledgeBase, KnowledgeDocument

from .simulator import SimulationReport, ensure_business_number, simulate_traffic

DEMO_CALLS = 60
DEMO_TEST_CALLS = 12
DEMO_DAYS = 30
DEMO_SEED = 360  # the same demo data on every machine

DEMO_BUSINESS_HOURS = {
    day: [{"open": "08:00", "close": "17:00"}] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
} | {"saturday": [{"open": "09:00", "close": "13:00"}]}

DEMO_KNOWLEDGE = (
    (
        "Services & prices",
        "What the practice offers and what it costs.",
        "Cleaning $95. Check-up with X-rays $140. Whitening consultation free. Fillings from $150.",
    ),
    (
        "Insurance & payment",
        "Accepted insurers and payment options.",
        "In network with Delta Dental PPO, Cigna and MetLife. Card, cash and payment plans accepted.",
    ),
    (
        "Office policies",
        "Hours, cancellations and new patients.",
        "Open Mon-Fri 8-5 and Sat 9-1. Cancel 24 hours ahead. New patients welcome.",
    ),
)

DEMO_CONTACTS = (
    ("+12125550111", "Jordan Lee", "jordan.lee@example.com", "Lee Design Studio"),
    ("+13125550123", "Priya Patel", "priya@example.com", ""),
    ("+14155550142", "Marcus Johnson", "", "Johnson & Co"),
)


def demo_phone_seed(organization: Organization) -> SimulationReport | None:
    """Fill in what the demo organisation lacks; returns the traffic report when calls were simulated."""
    rng = random.Random(DEMO_SEED)
    with transaction.atomic():
        ensure_business_number(organization, rng)
        config = services.ai_config_for(organization=organization, mode=services.LIVE)
        if not config.business_hours:
            AiConfig.objects.filter(pk=config.pk).update(
                business_hours=DEMO_BUSINESS_HOURS,
                greeting=f"Thanks for calling {organization.name.removesuffix(' (demo)')}! How can I help you today?",
            )
        for name, description, content in DEMO_KNOWLEDGE:
            base, created = KnowledgeBase.objects.get_or_create(
                organization=organization, name=name, defaults={"description": description}
            )
            if created:
                KnowledgeDocument.objects.create(knowledge_base=base, title=name, content=content)
        for number, name, email, company in DEMO_CONTACTS:
            if not Contact.objects.filter(organization=organization, mode=services.LIVE, phone_number=number).exists():
                services.contact_create(
                    organization=organization,
                    mode=services.LIVE,
                    phone_number=number,
                    name=name,
                    email=email or None,
                    company=company or None,
                )
    report = None
    if not Call.objects.filter(organization=organization, mode=services.LIVE).exists():
        report = simulate_traffic(organization=organization, calls=DEMO_CALLS, days=DEMO_DAYS, rng=rng)
    if not Call.objects.filter(organization=organization, mode=services.TEST).exists():
        # The test config is copied from the live one just set up, greeting and hours included.
        simulate_traffic(
            organization=organization,
            calls=DEMO_TEST_CALLS,
            days=7,
            rng=random.Random(DEMO_SEED + 1),
            mode=services.TEST,
        )
    return report
