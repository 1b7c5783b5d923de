"""Tool input schemas (pure): metaschema checks with paths, offline $refs, argument validation, the test form."""

from __future__ import annotations

import pytest

from agents.tool_schema import (
    check_schema,
    coerce_form_values,
    example_arguments,
    form_fields,
    validate_arguments,
)

ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "orderNumber": {"type": "string", "minLength": 3},
        "quantity": {"type": "integer", "minimum": 1},
        "price": {"type": "number"},
        "express": {"type": "boolean"},
        "size": {"type": "string", "enum": ["S", "M", "L"]},
        "items": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["orderNumber"],
    "additionalProperties": False,
}


def test_a_valid_schema_passes() -> None:
    assert check_schema(ORDER_SCHEMA) is None


@pytest.mark.parametrize(
    ("schema", "path", "fragment"),
    [
        ([], "", "JSON Schema object"),
        ({"type": "string"}, "type", '"type": "object"'),
        ({"properties": {}}, "type", '"type": "object"'),
        (
            {"type": "object", "properties": {"a": {"type": "strin"}}},
            "properties.a.type",
            "“properties.a.type” in the schema must be one of the JSON Schema types: array, boolean,",
        ),
        (
            {"type": "object", "properties": {"a": {"minimum": "one"}}},
            "properties.a.minimum",
            "“properties.a.minimum” in the schema must be a number, not text.",
        ),
        ({"type": "object", "required": "a"}, "required", "“required” in the schema must be a list, not text."),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://evil.example/s.json"}}},
            "properties.a.$ref",
            "Only local references",
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
            "properties.a.$ref",
            "points at nothing",
        ),
        ({"type": "object", "$schema": "https://example.com/my-meta"}, "$schema", "Unknown metaschema"),
    ],
)
def test_a_bad_schema_is_refused_with_the_path_of_the_problem(schema: object, path: str, fragment: str) -> None:
    problem = check_schema(schema)
    assert problem is not None and problem.path == path and fragment in problem.message


def test_an_oversized_or_too_deep_schema_is_refused() -> None:
    big = {"type": "object", "properties": {f"p{i}": {"type": "string", "description": "x" * 100} for i in range(400)}}
    problem = check_schema(big)
    assert problem is not None and "KB" in problem.message
    deep: dict = {"type": "object"}
    node = deep
    for _ in range(25):
        node["properties"] = {"a": {"type": "object"}}
        node = node["properties"]["a"]
    problem = check_schema(deep)
    assert problem is not None and "deep" in problem.message


def test_older_drafts_are_checked_against_their_own_metaschema() -> None:
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "definitions": {"s": {"type": "string"}},
        "properties": {"a": {"$ref": "#/definitions/s"}},
    }
    assert check_schema(draft4) is None
    assert validate_arguments(draft4, {"a": 5})[0].path == "a"


def test_arguments_are_validated_with_paths_and_every_problem() -> None:
    problems = validate_arguments(ORDER_SCHEMA, {"quantity": 0, "size": "XL", "extra": 1})
    by_path = {p.path: p.message for p in problems}
    assert set(by_path) == {"", "quantity", "size"}
    assert {p.message for p in problems if p.path == ""} == {
        "The required field “orderNumber” is missing.",
        "The field “extra” is not allowed.",
    }
    assert validate_arguments(ORDER_SCHEMA, {"orderNumber": "A-1042", "quantity": 2}) == []
    assert validate_arguments(ORDER_SCHEMA, ["not", "an", "object"])[0].path == ""


def test_the_test_form_has_one_input_per_property_typed_from_the_schema() -> None:
    kinds = {f.name: (f.kind, f.required) for f in form_fields(ORDER_SCHEMA)}
    assert kinds == {
        "orderNumber": ("text", True),
        "quantity": ("integer", False),
        "price": ("number", False),
        "express": ("boolean", False),
        "size": ("select", False),
        "items": ("json", False),
    }


def test_form_values_are_coerced_by_type_and_blanks_are_left_out() -> None:
    arguments, errors = coerce_form_values(
        ORDER_SCHEMA,
        {"orderNumber": "A-1042", "quantity": "3", "price": "9.5", "express": "true", "size": "", "items": '["a"]'},
    )
    assert errors == {}
    assert arguments == {"orderNumber": "A-1042", "quantity": 3, "price": 9.5, "express": True, "items": ["a"]}
    _, errors = coerce_form_values(ORDER_SCHEMA, {"quantity": "three", "items": "[oops"})
    assert errors == {"quantity": "Enter a whole number.", "items": "Enter valid JSON."}


def test_example_arguments_fill_every_required_property_validly() -> None:
    schema = {
        "type": "object",
        "properties": {
            "date": {"type": "string", "format": "date"},
            "party": {"type": "integer", "minimum": 2},
            "note": {"type": "string"},
        },
        "required": ["date", "party"],
    }
    arguments = example_arguments(schema)
    assert arguments == {"date": "2026-07-01", "party": 2}
    assert validate_arguments(schema, arguments) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"orderNumber": 5}, "The field “orderNumber” must be text, not a whole number."),
        ({"orderNumber": "A-1", "quantity": 0}, "The field “quantity” must be 1 or more."),
        ({"orderNumber": "A-1", "size": "XL"}, 'The field “size” must be one of: "S", "M", "L".'),
        ({"orderNumber": "A-1", "items": [{}]}, "The field “items[0]” must be text, not an object."),
        ({"orderNumber": "A"}, "The field “orderNumber” must be at least 3 characters long."),
        ("text", "The arguments must be an object, not text."),
    ],
)
def test_argument_problems_are_sentences_that_name_the_field(arguments: object, message: str) -> None:
    problems = validate_arguments(ORDER_SCHEMA, arguments)
    assert message in [p.message for p in problems]
    for problem in problems:
        assert problem.message[0].isupper() and problem.message.endswith(".")
        assert "is a required property" not in problem.message and "is not of type" not in problem.message
