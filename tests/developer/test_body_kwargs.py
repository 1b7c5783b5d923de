"""A JSON body becomes a service's snake_case keyword arguments; unknown fields are refused by name."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from core.errors import UNSET, Unset, given
from developer.public_api.base import body_kwargs
from developer.public_api.exceptions import ValidationFailed

FIELDS = {"phoneNumber": "phone_number", "name": "name"}


def test_given_keeps_every_field_that_is_not_unset_including_none() -> None:
    assert given(name="Sam", email=None, company=UNSET) == {"name": "Sam", "email": None}
    assert given(name=UNSET) == {}
    assert list(Unset) == [UNSET] and repr(UNSET) == "UNSET"


def test_body_fields_become_snake_case_keywords() -> None:
    assert body_kwargs({"phoneNumber": "+14155550123", "name": None}, FIELDS) == {
        "phone_number": "+14155550123",
        "name": None,
    }
    assert body_kwargs({}, FIELDS) == {}


def test_unknown_fields_are_refused_by_name_in_body_order() -> None:
    with pytest.raises(ValidationFailed) as exc:
        body_kwargs({"zeta": 1, "name": "Sam", "phone_number": "+1"}, FIELDS)
    assert exc.value.status_code == 400
    assert exc.value.fields == {"zeta": ["Unknown field."], "phone_number": ["Unknown field."]}


def test_the_refusal_can_depend_on_the_field_name() -> None:
    with pytest.raises(ValidationFailed) as exc:
        body_kwargs({"secret": 1, "other": 2}, FIELDS, refusal=lambda name: f"No {name} here.")
    assert exc.value.fields == {"secret": ["No secret here."], "other": ["No other here."]}


def test_check_reports_the_known_fields_errors_with_the_refusals() -> None:
    def check(**fields: Any) -> None:
        assert fields == {"name": 5}
        raise ValidationError({"name": ["Must be a string."]})

    with pytest.raises(ValidationFailed) as exc:
        body_kwargs({"bogus": 1, "name": 5}, FIELDS, check=check)
    assert exc.value.fields == {"bogus": ["Unknown field."], "name": ["Must be a string."]}


@pytest.mark.django_db
def test_an_api_body_with_unknown_fields_is_a_400_naming_each(api: Any) -> None:
    response = api.post("/contacts", {"phoneNumber": "+14155550123", "phone": "x", "nickname": "Sam"})
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert response.body["error"]["fields"] == {"phone": ["Unknown field."], "nickname": ["Unknown field."]}
    assert response.body["error"]["message"] == "Validation failed — phone: Unknown field.; nickname: Unknown field."
    assert api.get("/contacts").body["data"] == []  # nothing half-written


@pytest.mark.django_db
def test_config_refuses_sensitive_and_unknown_fields_together_with_bad_values(api: Any) -> None:
    response = api.patch("/config", {"paymentsEnabled": True, "greeting": 5, "colour": "red"})
    assert response.status_code == 400
    fields = response.body["error"]["fields"]
    assert list(fields) == ["paymentsEnabled", "colour", "greeting"]
    assert "sensitive" in fields["paymentsEnabled"][0] and fields["colour"][0].startswith("Unknown field.")
