"""Django admin is a door too: numbers, knowledge bases and the AI config save through the phone
services (normalised, validated, audited); calls, texts and opt-outs are read-only records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client

from accounts.models import AuditEntry
from phone import ai_config_rules as rules
from phone.models import AiConfig, BusinessNumber, KnowledgeBase, SmsOptOut
from phone.services import ai_config_for, business_number_add
from tests.conftest import make_org

pytestmark = pytest.mark.django_db

STAFF = "staff@aiphone360.test"


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(STAFF, STAFF, "pw")
    client = Client()
    client.force_login(user)
    return client


def _audit(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action, actor_label=STAFF)


# --- business numbers ---


def test_a_number_added_in_admin_is_stored_in_e164_and_audited(staff):
    org = make_org("Acme")
    response = staff.post(
        "/admin/phone/businessnumber/add/",
        {"organization": org.pk, "e164": "(415) 555-2671", "label": "Front desk", "sms_capable": "on"},
    )
    assert response.status_code == 302
    number = BusinessNumber.objects.get(organization=org)
    assert (number.e164, number.label, number.sms_capable, number.voice_capable) == (
        "+14155552671",
        "Front desk",
        True,
        False,
    )
    entry = _audit("phone_number.added")
    assert (entry.organization, entry.target_id) == (org, number.public_id)


def test_an_unreadable_number_is_a_form_error_and_nothing_is_saved(staff):
    org = make_org("Acme")
    response = staff.post("/admin/phone/businessnumber/add/", {"organization": org.pk, "e164": "call me maybe"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["e164"]
    assert not BusinessNumber.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="phone_number").exists()


def test_another_business_number_in_another_spelling_is_refused(staff):
    other = make_org("Other")
    business_number_add(organization=other, number="+14155552671")
    org = make_org("Acme")
    response = staff.post("/admin/phone/businessnumber/add/", {"organization": org.pk, "e164": "415-555-2671"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["e164"]
    assert BusinessNumber.objects.get().organization == other


def test_a_number_label_change_is_audited_and_the_number_itself_is_fixed(staff):
    org = make_org("Acme")
    number = business_number_add(organization=org, number="+14155552671", label="Old")
    response = staff.post(
        f"/admin/phone/businessnumber/{number.pk}/change/",
        {"e164": "+15555550000", "label": "After hours", "voice_capable": "on"},
    )
    assert response.status_code == 302
    number.refresh_from_db()
    assert (number.e164, number.label, number.sms_capable) == ("+14155552671", "After hours", False)
    assert _audit("phone_number.updated").metadata == {"fields": ["label", "sms_capable"]}


def test_removing_a_number_in_admin_is_audited(staff):
    org = make_org("Acme")
    number = business_number_add(organization=org, number="+14155552671")
    response = staff.post(f"/admin/phone/businessnumber/{number.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not BusinessNumber.objects.exists()
    assert _audit("phone_number.removed").metadata == {"number": "+14155552671"}


def test_removing_numbers_from_the_list_is_audited_for_each(staff):
    org = make_org("Acme")
    numbers = [business_number_add(organization=org, number=n) for n in ("+14155552671", "+14155552672")]
    response = staff.post(
        "/admin/phone/businessnumber/",
        {"action": "delete_selected", "index": 0, "post": "yes", "_selected_action": [n.pk for n in numbers]},
    )
    assert response.status_code == 302
    assert not BusinessNumber.objects.exists()
    assert AuditEntry.objects.filter(action="phone_number.removed", actor_label=STAFF).count() == 2


# --- AI config ---


def _ai_config_form(config: AiConfig, **changes: Any) -> dict[str, Any]:
    data = model_to_dict(config, exclude=["id", "organization"])
    data = {**data, **changes}
    for name in ("business_hours", "spam_blocked_numbers"):
        if not isinstance(data[name], str):
            data[name] = json.dumps(data[name])
    for name in ("sms_quiet_hours_start", "sms_quiet_hours_end"):
        if not isinstance(data[name], str):
            data[name] = data[name].strftime("%H:%M")
    return {name: value for name, value in data.items() if value is not False}  # unchecked boxes are not posted


def test_an_ai_config_change_goes_through_the_rules_and_is_audited(staff):
    org = make_org("Acme")
    config = ai_config_for(organization=org)
    hours = {"monday": [{"open": "09:00", "close": "17:00"}]}
    response = staff.post(
        f"/admin/phone/aiconfig/{config.pk}/change/",
        _ai_config_form(config, greeting="Hello from Acme", business_hours=hours, sms_quiet_hours_start="22:00"),
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.greeting == "Hello from Acme"
    assert config.business_hours == rules.clean_business_hours(hours)
    assert f"{config.sms_quiet_hours_start:%H:%M}" == "22:00"
    assert _audit("ai_config.updated").metadata == {
        "fields": ["businessHours", "greeting", "smsQuietHours"],
        "mode": "live",
    }


def test_an_ai_config_breaking_a_rule_is_refused_with_the_rule_message_and_nothing_is_saved(staff):
    org = make_org("Acme")
    config = ai_config_for(organization=org)
    bad_hours = {"monday": [{"open": "17:00", "close": "09:00"}]}
    with pytest.raises(ValueError) as rule:
        rules.clean_business_hours(bad_hours)
    response = staff.post(
        f"/admin/phone/aiconfig/{config.pk}/change/",
        _ai_config_form(config, greeting="Changed too", business_hours=bad_hours),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["business_hours"] == [str(rule.value)]
    config.refresh_from_db()
    assert (config.greeting, config.business_hours) == ("Thanks for calling! How can I help you today?", {})
    assert not AuditEntry.objects.filter(action="ai_config.updated").exists()


def test_an_empty_greeting_is_refused_by_the_same_rule_as_the_api(staff):
    config = ai_config_for(organization=make_org("Acme"))
    response = staff.post(f"/admin/phone/aiconfig/{config.pk}/change/", _ai_config_form(config, greeting="   "))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["greeting"]


def test_staff_only_settings_are_audited_and_blocked_numbers_stored_in_e164(staff):
    org = make_org("Acme")
    config = ai_config_for(organization=org)
    response = staff.post(
        f"/admin/phone/aiconfig/{config.pk}/change/",
        _ai_config_form(config, spam_blocked_numbers=["(415) 555-2671", "+14155552671"], pii_retention_days=30),
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.spam_blocked_numbers, config.pii_retention_days) == (["+14155552671"], 30)
    entry = _audit("ai_config.updated")
    assert entry.metadata == {
        "fields": ["pii_retention_days", "spam_blocked_numbers"],
        "sensitive": True,
        "mode": "live",
    }


def test_an_unreadable_blocked_number_is_a_form_error(staff):
    config = ai_config_for(organization=make_org("Acme"))
    response = staff.post(
        f"/admin/phone/aiconfig/{config.pk}/change/", _ai_config_form(config, spam_blocked_numbers=["spam"])
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["spam_blocked_numbers"]
    config.refresh_from_db()
    assert config.spam_blocked_numbers == []


def test_ai_config_is_neither_added_nor_deleted_in_admin(staff):
    config = ai_config_for(organization=make_org("Acme"))
    assert staff.get("/admin/phone/aiconfig/add/").status_code == 403
    assert staff.post(f"/admin/phone/aiconfig/{config.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AiConfig.objects.filter(pk=config.pk).exists()


# --- knowledge bases ---


def _documents(*rows: dict[str, str], initial: int = 0, ids: tuple[int, ...] = ()) -> dict[str, object]:
    """The inline formset of a knowledge base's documents, as the admin page posts it."""
    data: dict[str, object] = {
        "documents-TOTAL_FORMS": str(len(rows)),
        "documents-INITIAL_FORMS": str(initial),
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"documents-{index}-{name}"] = value
        if index < len(ids):
            data[f"documents-{index}-id"] = str(ids[index])
    return data


def test_a_knowledge_base_added_changed_and_deleted_in_admin_is_audited_each_time(staff):
    org = make_org("Acme")
    response = staff.post(
        "/admin/phone/knowledgebase/add/",
        {"organization": org.pk, "name": "FAQ", **_documents({"title": "Hours", "content": "Hi"})},
    )
    assert response.status_code == 302
    base = KnowledgeBase.objects.get(organization=org)
    assert _audit("knowledge_base.created").target_id == base.public_id
    document = base.documents.get()
    assert (document.title, document.content) == ("Hours", "Hi")
    assert _audit("knowledge_base.documents_changed").metadata == {"added": 1, "changed": 0, "deleted": 0}

    response = staff.post(
        f"/admin/phone/knowledgebase/{base.pk}/change/",
        {
            "name": "FAQ",
            "description": "Answers",
            **_documents({"title": "Hours", "content": "Hi"}, initial=1, ids=(document.pk,)),
        },
    )
    assert response.status_code == 302
    assert _audit("knowledge_base.updated").metadata == {"fields": ["description"]}

    response = staff.post(
        f"/admin/phone/knowledgebase/{base.pk}/change/",
        {
            "name": "FAQ",
            "description": "Answers",
            **_documents({"title": "Hours", "content": "Hello", "DELETE": "on"}, initial=1, ids=(document.pk,)),
        },
    )
    assert response.status_code == 302
    assert not base.documents.exists()
    latest = AuditEntry.objects.filter(action="knowledge_base.documents_changed").order_by("-pk")[0]
    assert latest.metadata == {"added": 0, "changed": 0, "deleted": 1}

    response = staff.post(f"/admin/phone/knowledgebase/{base.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not KnowledgeBase.objects.exists()
    assert _audit("knowledge_base.deleted").metadata == {"name": "FAQ"}


# --- read-only records ---


def test_an_opt_out_cannot_be_deleted_in_admin(staff):
    org = make_org("Acme")
    opt_out = SmsOptOut.objects.create(organization=org, phone_number="+14155552671", keyword="STOP")
    assert staff.post(f"/admin/phone/smsoptout/{opt_out.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SmsOptOut.objects.filter(pk=opt_out.pk).exists()


def test_staff_editing_the_test_config_change_only_the_test_config(staff):
    org = make_org("Acme")
    live = ai_config_for(organization=org)
    live_before = model_to_dict(live)
    test = ai_config_for(organization=org, mode="test")
    response = staff.post(
        f"/admin/phone/aiconfig/{test.pk}/change/",
        _ai_config_form(test, greeting="Sandbox hello", spam_filter_level="high"),
    )
    assert response.status_code == 302
    test.refresh_from_db()
    live.refresh_from_db()
    assert (test.greeting, test.spam_filter_level) == ("Sandbox hello", "high")
    assert model_to_dict(live) == live_before
    assert {e.metadata["mode"] for e in AuditEntry.objects.filter(actor_label=STAFF)} == {"test"}
