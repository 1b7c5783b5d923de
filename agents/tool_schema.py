"""A tool's input JSON Schema: checking it, validating arguments against it, and building the
dashboard's Test-tool form from it. Pure module (jsonschema only, no Django).

Schemas are written by customers, so they are treated as untrusted input: only local ``$ref``s
(``#/…``) are accepted and the validator's registry can retrieve nothing, so a schema can never
make the server fetch a URL; size and nesting are bounded.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import referencing.exceptions
import referencing.jsonschema
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.exceptions import NoSuchResource

DEFAULT_METASCHEMA = jsonschema.Draft202012Validator
MAX_SCHEMA_BYTES = 32 * 1024
MAX_SCHEMA_DEPTH = 20
MAX_ARGUMENT_ERRORS = 10


def _retrieve_nothing(uri: str) -> Any:
    raise NoSuchResource(uri)  # its one field, `ref`


# Resolves only what the schema itself contains; every remote $ref is unresolvable.
# referencing declares its attrs classes with its own `__dataclass_transform__`, which mypy does not read.
_OFFLINE_REGISTRY: Registry = Registry(retrieve=_retrieve_nothing)  # type: ignore[call-arg]


@dataclass(frozen=True)
class SchemaProblem:
    path: str  # dotted path inside the schema, e.g. "properties.date.type"; "" for the schema itself
    message: str


def _dotted(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, stopping early past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _non_local_ref(schema: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    queue: deque[tuple[Any, tuple[Any, ...]]] = deque([(schema, path)])
    while queue:
        node, where = queue.popleft()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                    return (*where, key), value
                queue.append((value, (*where, key)))
        elif isinstance(node, list):
            queue.extend((item, (*where, index)) for index, item in enumerate(node))
    return None


def check_schema(schema: Any) -> SchemaProblem | None:
    """Why ``schema`` is not an acceptable tool input schema, or None.

    It must be a JSON object describing an object (``"type": "object"``), valid against its
    metaschema (``$schema`` if given and known, else draft 2020-12), small and local.
    """
    if not isinstance(schema, dict):
        return SchemaProblem("", "Must be a JSON Schema object.")
    if schema.get("type") != "object":
        return SchemaProblem("type", 'The top level must describe an object: set "type": "object".')
    try:
        size = len(json.dumps(schema, allow_nan=False))
    except (TypeError, ValueError):
        return SchemaProblem("", "Must contain only JSON values.")
    if size > MAX_SCHEMA_BYTES:
        return SchemaProblem("", f"At most {MAX_SCHEMA_BYTES // 1024} KB of JSON.")
    if _depth(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
        return SchemaProblem("", f"Nested more than {MAX_SCHEMA_DEPTH} levels deep.")
    remote = _non_local_ref(schema)
    if remote is not None:
        where, ref = remote
        return SchemaProblem(_dotted(where), f"Only local references (starting with #) are allowed, not {ref!r}.")
    declared = schema.get("$schema")
    if declared is not None and not isinstance(declared, str):
        return SchemaProblem("$schema", "Must be a metaschema URI string.")
    validator_class = jsonschema.validators.validator_for(schema, default=DEFAULT_METASCHEMA)
    if declared and validator_class is DEFAULT_METASCHEMA and declared.rstrip("#") not in _KNOWN_URIS:
        return SchemaProblem("$schema", f"Unknown metaschema {declared!r}; omit it to use draft 2020-12.")
    errors = list(validator_class(validator_class.META_SCHEMA).iter_errors(schema))
    if errors:
        error = best_match(errors)
        return SchemaProblem(_dotted(error.absolute_path), plain_message(error, in_schema=True))
    return _dangling_ref(schema)


def _dangling_ref(schema: dict[str, Any]) -> SchemaProblem | None:
    """Resolve every local $ref now, so "#/$defs/missing" fails at save time, not during a call."""
    specification = referencing.jsonschema.specification_with(
        schema.get("$schema", ""), default=referencing.jsonschema.DRAFT202012
    )
    resolver = _OFFLINE_REGISTRY.resolver_with_root(specification.create_resource(schema))
    queue: deque[tuple[Any, tuple[Any, ...]]] = deque([(schema, ())])
    while queue:
        node, where = queue.popleft()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    try:
                        resolver.lookup(value)
                    except referencing.exceptions.Unresolvable:
                        return SchemaProblem(
                            _dotted((*where, key)), f"The reference {value!r} points at nothing in this schema."
                        )
                queue.append((value, (*where, key)))
        elif isinstance(node, list):
            queue.extend((item, (*where, index)) for index, item in enumerate(node))
    return None


_KNOWN_URIS = frozenset(
    cls.META_SCHEMA["$schema" if "$schema" in cls.META_SCHEMA else "id"].rstrip("#")
    for cls in (
        jsonschema.Draft4Validator,
        jsonschema.Draft6Validator,
        jsonschema.Draft7Validator,
        jsonschema.Draft201909Validator,
        jsonschema.Draft202012Validator,
    )
)


@dataclass(frozen=True)
class ArgumentProblem:
    path: str  # "" for the arguments object itself, else e.g. "date" or "items[0].sku"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path or "(arguments)", "message": self.message}


def validate_arguments(schema: Mapping[str, Any], arguments: Any) -> list[ArgumentProblem]:
    """Every way ``arguments`` break ``schema`` (at most MAX_ARGUMENT_ERRORS), most relevant first."""
    validator_class = jsonschema.validators.validator_for(schema, default=DEFAULT_METASCHEMA)
    validator = validator_class(schema, registry=_OFFLINE_REGISTRY)
    try:
        errors = sorted(validator.iter_errors(arguments), key=jsonschema.exceptions.relevance)
    except jsonschema.exceptions._WrappedReferencingError as exc:  # noqa: SLF001
        return [ArgumentProblem("", f"The tool's schema has an unresolvable $ref: {exc}")]
    return [ArgumentProblem(_dotted(e.absolute_path), _message(e)) for e in errors[:MAX_ARGUMENT_ERRORS]]


def _message(error: ValidationError) -> str:
    # A quoted offending value could be long; a long one would flood the AI's context.
    message = plain_message(error)
    return message if len(message) <= 300 else message[:297] + "…"


# ---------------------------------------------------------------------------------------------
# jsonschema's messages ("'date' is a required property", "'strin' is not valid under any of the given
# schemas") as sentences a person reads: which field, and what is wrong with it.

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}
_SCHEMA_TYPES = ", ".join(sorted(_TYPE_NAMES))


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _quoted(names: Iterable[Any]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def _plural(count: Any, one: str, many: str) -> str:
    return one if count == 1 else many


def plain_message(error: ValidationError, *, in_schema: bool = False) -> str:
    """One sentence naming the field (its dotted path) and the problem."""
    path = _dotted(error.absolute_path)
    if in_schema:
        subject = f"“{path}” in the schema" if path else "The schema"
        where = f" in “{path}”" if path else ""
    else:
        subject = f"The field “{path}”" if path else "The arguments"
        where = f" in “{path}”" if path else ""
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required" and isinstance(value, dict):
        missing = [name for name in expected if name not in value] or list(expected)
        noun = _plural(len(missing), "field", "fields")
        verb = _plural(len(missing), "is", "are")
        return f"The required {noun} {_quoted(missing)}{where} {verb} missing."
    if kind == "additionalProperties" and isinstance(value, dict):
        known = set((error.schema or {}).get("properties") or {}) if isinstance(error.schema, dict) else set()
        extra = [name for name in value if name not in known] or list(value)
        noun = _plural(len(extra), "field", "fields")
        verb = _plural(len(extra), "is", "are")
        return f"The {noun} {_quoted(extra)}{where} {verb} not allowed."
    if kind == "type":
        wanted = [expected] if isinstance(expected, str) else list(expected)
        names = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
        return f"{subject} must be {names}, not {_kind_of(value)}."
    if kind in ("anyOf", "oneOf") and in_schema and path.split(".")[-1] == "type":
        return f"{subject} must be one of the JSON Schema types: {_SCHEMA_TYPES}."
    simple = {
        "enum": lambda: f"must be one of: {', '.join(json.dumps(v, ensure_ascii=False) for v in expected)}.",
        "const": lambda: f"must be {json.dumps(expected, ensure_ascii=False)}.",
        "minLength": lambda: f"must be at least {expected} {_plural(expected, 'character', 'characters')} long.",
        "maxLength": lambda: f"must be at most {expected} {_plural(expected, 'character', 'characters')} long.",
        "minimum": lambda: f"must be {expected} or more.",
        "maximum": lambda: f"must be {expected} or less.",
        "exclusiveMinimum": lambda: f"must be more than {expected}.",
        "exclusiveMaximum": lambda: f"must be less than {expected}.",
        "multipleOf": lambda: f"must be a multiple of {expected}.",
        "pattern": lambda: f"must match the pattern {expected}.",
        "format": lambda: f"must be a valid {expected}.",
        "minItems": lambda: f"must have at least {expected} {_plural(expected, 'item', 'items')}.",
        "maxItems": lambda: f"must have at most {expected} {_plural(expected, 'item', 'items')}.",
        "uniqueItems": lambda: "must not repeat an item.",
        "minProperties": lambda: f"must have at least {expected} {_plural(expected, 'field', 'fields')}.",
        "maxProperties": lambda: f"must have at most {expected} {_plural(expected, 'field', 'fields')}.",
        "anyOf": lambda: "does not match any of the allowed forms.",
        "oneOf": lambda: "must match exactly one of the allowed forms.",
        "not": lambda: "has a value that is not allowed.",
    }
    if kind in simple:
        return f"{subject} {simple[kind]()}"
    text = error.message.rstrip(".")
    return f"{subject}: {text[:1].upper()}{text[1:]}."


# ---------------------------------------------------------------------------------------------
# The Test-tool form


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # "text", "number", "integer", "boolean", "select", "json"
    required: bool
    description: str = ""
    choices: tuple[str, ...] = ()
    example: str = ""


def form_fields(schema: Mapping[str, Any]) -> list[FormField]:
    """One input per top-level property; nested objects and arrays are entered as JSON."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields = []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        kind = _kind(prop)
        choices = tuple(str(c) for c in prop.get("enum", ())) if kind == "select" else ()
        example = example_value(prop)
        fields.append(
            FormField(
                name=name,
                label=str(prop.get("title") or name),
                kind=kind,
                required=name in required,
                description=str(prop.get("description") or ""),
                choices=choices,
                example="" if example is None else (json.dumps(example) if kind == "json" else _text(example)),
            )
        )
    return fields


def _kind(prop: Mapping[str, Any]) -> str:
    if isinstance(prop.get("enum"), list) and all(isinstance(c, str) for c in prop["enum"]):
        return "select"
    kind = prop.get("type")
    if kind in ("string", "number", "integer", "boolean"):
        return {"string": "text"}.get(kind, kind)
    return "json"


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def coerce_form_values(schema: Mapping[str, Any], values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form strings → arguments by each property's type; returns (arguments, errors by field).

    An empty optional field is left out, so the schema (not the form) decides what is missing.
    """
    arguments: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in form_fields(schema):
        raw = values.get(field.name, "")
        if field.kind == "boolean":
            if raw in ("true", "false"):
                arguments[field.name] = raw == "true"
            continue
        if raw.strip() == "":
            continue
        try:
            if field.kind == "integer":
                arguments[field.name] = int(raw)
            elif field.kind == "number":
                number = float(raw)
                arguments[field.name] = int(number) if number.is_integer() and "." not in raw else number
            elif field.kind == "json":
                arguments[field.name] = json.loads(raw)
            else:
                arguments[field.name] = raw
        except ValueError:
            errors[field.name] = {
                "integer": "Enter a whole number.",
                "number": "Enter a number.",
                "json": "Enter valid JSON.",
            }[field.kind]
    return arguments, errors


def example_value(prop: Mapping[str, Any]) -> Any:
    """A plausible value for one property: its default, first example, first enum value, or by type."""
    if "default" in prop:
        return prop["default"]
    if isinstance(prop.get("examples"), list) and prop["examples"]:
        return prop["examples"][0]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return prop["enum"][0]
    if "const" in prop:
        return prop["const"]
    kind = prop.get("type")
    if kind == "string":
        return {
            "date": "2026-07-01",
            "date-time": "2026-07-01T15:00:00Z",
            "email": "jordan@example.com",
            "uri": "https://example.com",
        }.get(prop.get("format", ""), "example")
    if kind == "integer":
        return max(int(prop.get("minimum", 1)), 1) if isinstance(prop.get("minimum", 1), (int, float)) else 1
    if kind == "number":
        return prop.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return example_arguments(prop)
    return None


def example_arguments(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments that fill every required property, for the call simulator and the form's defaults."""
    properties = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required") or []:
        value = example_value(properties.get(name) or {})
        if value is not None:
            out[name] = value
    return out
