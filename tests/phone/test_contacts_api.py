from __future__ import annotations

from urllib.parse import quote

import pytest

from accounts.models import Organization
from phone.models import Contact, SmsOptOut
from tests.conftest import ApiClient, make_key

from .conftest import events


def _create(api: ApiClient, **body: object):
    return api.post("/contacts", body)


def test_create_contact_normalises_the_number_to_e164(api: ApiClient, org: Organization) -> None:
    response = _create(
        api, phoneNumber="(415) 555-2671", name="  Jordan Lee ", email="Jordan@Example.COM", company="Lee Studio"
    )

    assert response.status_code == 201
    data = response.body["data"]
    assert data["id"].startswith("con_")
    assert data["phoneNumber"] == "+14155552671"
    assert data["name"] == "Jordan Lee"
    assert data["email"] == "Jordan@example.com"
    assert data["company"] == "Lee Studio"
    assert data["smsOptedOut"] is False
    row = Contact.objects.get(public_id=data["id"])
    assert row.organization == org and row.phone_number == "+14155552671"


def test_create_contact_accepts_the_docs_example_number(api: ApiClient) -> None:
    response = _create(api, phoneNumber="+15555550123", name="Jordan")
    assert response.status_code == 201
    assert response.body["data"]["phoneNumber"] == "+15555550123"


def test_national_numbers_are_read_in_the_business_region(api: ApiClient, org: Organization) -> None:
    org.country = "GB"
    org.save(update_fields=["country"])
    response = _create(api, phoneNumber="020 7946 0958")
    assert response.body["data"]["phoneNumber"] == "+442079460958"


def test_create_contact_emits_contact_created(api: ApiClient, org: Organization) -> None:
    response = _create(api, phoneNumber="+14155552671", name="Jordan")
    [event] = events(org, "contact.created")
    assert event["data"]["id"] == response.body["data"]["id"]
    assert event["data"]["name"] == "Jordan"
    assert event["_mode"] == "live"


def test_contact_created_with_a_test_key_emits_a_test_mode_event(test_api: ApiClient, org: Organization) -> None:
    _create(test_api, phoneNumber="+14155552671")
    [event] = events(org, "contact.created")
    assert event["_mode"] == "test" and event["livemode"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "phoneNumber"),
        ({"phoneNumber": ""}, "phoneNumber"),
        ({"phoneNumber": "not a number"}, "phoneNumber"),
        ({"phoneNumber": "+1 415 555"}, "phoneNumber"),
        ({"phoneNumber": "+999 1234 5678"}, "phoneNumber"),
        ({"phoneNumber": 4155552671}, "phoneNumber"),
        ({"phoneNumber": "+14155552671", "email": "not-an-email"}, "email"),
        ({"phoneNumber": "+14155552671", "name": "x" * 201}, "name"),
        ({"phoneNumber": "+14155552671", "company": ["Acme"]}, "company"),
        ({"phoneNumber": "+14155552671", "favouriteColour": "blue"}, "favouriteColour"),
    ],
)
def test_invalid_contact_is_refused_naming_the_field(api: ApiClient, org: Organization, body: dict, field: str) -> None:
    response = api.post("/contacts", body)

    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.body["error"]["fields"]
    assert not Contact.objects.filter(organization=org).exists()
    assert events(org) == []


def test_all_bad_fields_are_named_at_once(api: ApiClient) -> None:
    response = api.post("/contacts", {"phoneNumber": "nope", "email": "nope"})
    assert set(response.body["error"]["fields"]) == {"phoneNumber", "email"}


def test_duplicate_phone_number_in_any_format_is_refused(api: ApiClient, org: Organization) -> None:
    _create(api, phoneNumber="+14155552671")
    response = _create(api, phoneNumber="415-555-2671")
    assert response.status_code == 400
    assert "phoneNumber" in response.body["error"]["fields"]
    assert Contact.objects.filter(organization=org).count() == 1


def test_the_same_number_may_be_a_contact_of_two_businesses(api: ApiClient, other_org: Organization) -> None:
    ApiClient(make_key(other_org)).post("/contacts", {"phoneNumber": "+14155552671"})
    assert _create(api, phoneNumber="+14155552671").status_code == 201


def test_get_contact_and_another_business_contact_is_404(api: ApiClient, other_org: Organization) -> None:
    mine = _create(api, phoneNumber="+14155552671", name="Jordan").body["data"]
    theirs = ApiClient(make_key(other_org)).post("/contacts", {"phoneNumber": "+14155552672"}).body["data"]

    assert api.get(f"/contacts/{mine['id']}").body["data"] == mine
    for method, body in (("get", None), ("patch", {"name": "Hijack"})):
        response = getattr(api, method)(f"/contacts/{theirs['id']}", **({"body": body} if body else {}))
        assert response.status_code == 404
        assert response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert Contact.objects.get(public_id=theirs["id"]).name == ""


def test_patch_updates_fields_and_emits_contact_updated_with_changed_fields(api: ApiClient, org: Organization) -> None:
    contact = _create(api, phoneNumber="+14155552671", name="Jordan").body["data"]

    response = api.patch(f"/contacts/{contact['id']}", {"name": "Jordan Lee", "company": "Lee Studio", "email": None})

    assert response.status_code == 200
    assert response.body["data"]["name"] == "Jordan Lee"
    assert response.body["data"]["company"] == "Lee Studio"
    assert response.body["data"]["updatedAt"] >= contact["updatedAt"]
    [event] = events(org, "contact.updated")
    assert event["data"]["changedFields"] == ["company", "name"]


def test_patch_without_a_meaningful_change_emits_nothing(api: ApiClient, org: Organization) -> None:
    contact = _create(api, phoneNumber="+14155552671", name="Jordan").body["data"]

    response = api.patch(f"/contacts/{contact['id']}", {"name": " Jordan ", "phoneNumber": "(415) 555-2671"})

    assert response.status_code == 200
    assert response.body["data"]["updatedAt"] == contact["updatedAt"]
    assert events(org, "contact.updated") == []


def test_patch_number_to_one_another_contact_has_is_refused(api: ApiClient, org: Organization) -> None:
    _create(api, phoneNumber="+14155552671")
    second = _create(api, phoneNumber="+14155552672").body["data"]

    response = api.patch(f"/contacts/{second['id']}", {"phoneNumber": "+1 415 555 2671"})

    assert response.status_code == 400
    assert "phoneNumber" in response.body["error"]["fields"]
    assert Contact.objects.get(public_id=second["id"]).phone_number == "+14155552672"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phoneNumber": None}, "phoneNumber"),
        ({"email": "bad"}, "email"),
        ({"id": "con_x"}, "id"),
    ],
)
def test_patch_validates_like_create(api: ApiClient, body: dict, field: str) -> None:
    contact = _create(api, phoneNumber="+14155552671").body["data"]
    response = api.patch(f"/contacts/{contact['id']}", body)
    assert response.status_code == 400
    assert field in response.body["error"]["fields"]


@pytest.mark.parametrize(
    "term", ["jordan", "LEE STUDIO", "example.com", "(415) 555-2671", "4155552671", "+1 415-555-2671"]
)
def test_contact_search_over_name_company_email_and_number(api: ApiClient, term: str) -> None:
    match = _create(
        api, phoneNumber="+14155552671", name="Jordan Lee", email="jordan@example.com", company="Lee Studio"
    ).body["data"]
    _create(api, phoneNumber="+13125550199", name="Priya Patel", email="priya@mail.test", company="Patel Inc")

    response = api.get(f"/contacts?search={quote(term, safe='')}")

    assert [c["id"] for c in response.body["data"]] == [match["id"]]


def test_contact_list_is_paginated_newest_first_and_shows_opt_out(api: ApiClient, org: Organization) -> None:
    ids = [_create(api, phoneNumber=f"+1415555267{i}").body["data"]["id"] for i in range(5)]
    SmsOptOut.objects.create(organization=org, phone_number="+14155552674", keyword="STOP")

    first = api.get("/contacts?limit=2")
    second = api.get(f"/contacts?limit=2&cursor={first.body['pagination']['nextCursor']}")
    third = api.get(f"/contacts?limit=2&cursor={second.body['pagination']['nextCursor']}")

    listed = [c["id"] for page in (first, second, third) for c in page.body["data"]]
    assert listed == list(reversed(ids))
    assert third.body["pagination"]["hasMore"] is False
    assert first.body["data"][0]["smsOptedOut"] is True
    assert first.body["data"][1]["smsOptedOut"] is False


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/contacts", "read:contacts"),
        ("get", "/contacts/{id}", "read:contacts"),
        ("post", "/contacts", "write:contacts"),
        ("patch", "/contacts/{id}", "write:contacts"),
    ],
)
def test_contact_endpoints_require_their_scope(
    api: ApiClient, org: Organization, method: str, path: str, scope: str
) -> None:
    contact = _create(api, phoneNumber="+14155552671").body["data"]
    path = path.format(id=contact["id"])
    body = {"phoneNumber": "+14155552699"} if method == "post" else {"name": "New"} if method == "patch" else None
    all_phone = ["read:calls", "read:contacts", "write:contacts", "write:sms"]
    without = ApiClient(make_key(org, scopes=[s for s in all_phone if s != scope]))
    with_only = ApiClient(make_key(org, scopes=[scope]))

    kwargs = {"body": body} if body else {}
    refused = getattr(without, method)(path, **kwargs)
    assert refused.status_code == 403 and refused.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert getattr(with_only, method)(path, **kwargs).status_code in (200, 201)
