"""PATCH changes only the fields it names: an omitted field is kept (UNSET), an explicit null clears it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Organization
from agents import services as agents
from phone import services
from phone.models import Contact

pytestmark = pytest.mark.django_db


def _contact(org: Organization) -> Contact:
    return services.contact_create(
        organization=org,
        mode="live",
        phone_number="+14155550123",
        name="Sam Rivera",
        email="sam@example.com",
        company="Rivera Plumbing",
    )


def test_a_field_left_out_of_an_update_is_unchanged(org: Organization) -> None:
    contact = services.contact_update(contact=_contact(org), company="Rivera & Sons")
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.company) == ("Sam Rivera", "sam@example.com", "Rivera & Sons")


def test_an_explicit_none_clears_a_nullable_field(org: Organization) -> None:
    contact = services.contact_update(contact=_contact(org), email=None)
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.company) == ("Sam Rivera", "", "Rivera Plumbing")


def test_patch_over_the_api_keeps_omitted_fields_and_clears_nulls(org: Organization, api: Any) -> None:
    contact = _contact(org)
    response = api.patch(f"/contacts/{contact.public_id}", {"name": None})
    assert response.status_code == 200
    assert (response.body["data"]["name"], response.body["data"]["email"]) == (None, "sam@example.com")
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.company) == ("", "sam@example.com", "Rivera Plumbing")


def test_a_data_field_keeps_its_agent_unless_agent_id_is_given(org: Organization) -> None:
    agent = agents.agent_create(
        organization=org, actor=None, agent_key="billing", display_name="Billing", instructions="Bills."
    )
    field = agents.data_field_create(
        organization=org, actor=None, key="invoice", label="Invoice", agent_id=agent.public_id
    )
    field = agents.data_field_update(data_field=field, actor=None, label="Invoice number")
    assert (field.label, field.agent_id) == ("Invoice number", agent.pk)
    field = agents.data_field_update(data_field=field, actor=None, agent_id=None)
    field.refresh_from_db()
    assert (field.label, field.agent_id) == ("Invoice number", None)


def test_an_agent_update_changes_only_what_it_is_given(org: Organization) -> None:
    agent = agents.agent_create(
        organization=org,
        actor=None,
        agent_key="billing",
        display_name="Billing",
        instructions="Bills.",
        match_hints=["invoice"],
    )
    agents.agent_update(agent=agent, actor=None, enabled=False)
    agent.refresh_from_db()
    assert (agent.display_name, agent.match_hints, agent.enabled) == ("Billing", ["invoice"], False)


def test_an_update_with_nothing_given_changes_nothing(org: Organization) -> None:
    contact = _contact(org)
    before = contact.updated_at
    assert services.contact_update(contact=contact).updated_at == before
    with pytest.raises(ValidationError) as exc:
        services.ai_config_update(organization=org, actor=None)
    assert list(exc.value.message_dict) == ["body"]
