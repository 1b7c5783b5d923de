"""OpenAPI description of the public API (drf-spectacular, OpenAPI 3.1).

Views declare their success payload with `@extend_schema(responses=...)` and any error particular to
them with `error_response(...)`; this module adds what every operation shares so no view repeats it:
the `{success, data, message}` envelope around 2xx bodies, the error envelope for each failure the
operation can return, the request-id and rate-limit headers, and the two ways to send a key.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_serializer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiResponse

from .authentication import required_scope

ERROR_CODES: dict[str, list[str]] = {
    "400": ["VALIDATION_ERROR"],
    "401": ["API_KEY_REQUIRED", "INVALID_API_KEY"],
    "402": ["SUBSCRIPTION_REQUIRED", "PLATFORM_ADDON_REQUIRED", "INSUFFICIENT_CREDITS"],
    "403": ["BUSINESS_SUSPENDED", "INSUFFICIENT_SCOPE"],
    "404": ["RESOURCE_NOT_FOUND"],
    "405": ["METHOD_NOT_ALLOWED"],
    "406": ["NOT_ACCEPTABLE"],
    "413": ["PAYLOAD_TOO_LARGE"],
    "415": ["VALIDATION_ERROR"],
    "429": ["RATE_LIMIT_EXCEEDED"],
    "500": ["INTERNAL_ERROR"],
    "503": ["SERVICE_UNAVAILABLE"],
}
_DESCRIPTIONS = {
    "400": "The request failed validation; `error.fields` names each bad field.",
    "401": "No API key, or the key is unknown, revoked or expired.",
    "402": "No active subscription, no Developer Platform add-on, or (live keys) an empty wallet.",
    "403": "The organisation is suspended, or the key lacks the scope this operation requires.",
    "404": "No such route, or the id does not exist in this organisation.",
    "405": "The route exists but not with this method.",
    "406": "The API only answers application/json.",
    "413": f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes; it was not read.",
    "415": "The body must be JSON (`Content-Type: application/json`).",
    "429": "Rate limit exceeded: retry after `Retry-After` seconds.",
    "500": "Unexpected error; give `error.requestId` to support.",
    "503": "The service is shedding load: nothing was done; retry after `Retry-After` seconds.",
}
# Every operation can fail these ways: the key, the access gate, the rate limit, content negotiation.
_ALWAYS = ("401", "402", "403", "405", "406", "429", "500", "503")

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {
            "type": "object",
            "required": ["message", "code", "status", "requestId"],
            "properties": {
                "message": {"type": "string"},
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "status": {"type": "integer", "description": "The HTTP status, repeated."},
                "requestId": {"type": ["string", "null"], "description": "Quote it to support."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "For VALIDATION_ERROR: each bad field (dotted path) and what is wrong.",
                },
            },
        },
    },
}

HEADERS = {
    "X-Request-Id": {"schema": {"type": "string"}, "description": "Unique id of this request; quote it to support."},
    "X-RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Requests allowed per minute for this key."},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Requests left in the current window."},
    "X-RateLimit-Reset": {"schema": {"type": "integer"}, "description": "Unix time when the bucket is full again."},
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."},
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when this is the stored result of an earlier request with the same Idempotency-Key.",
    },
}
_SHARED_HEADERS = ("X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# The shared error responses, defined once under components/responses and referenced by each operation.
_RESPONSE_NAMES = {
    "400": "ValidationError",
    "401": "Unauthorized",
    "402": "PaymentRequired",
    "403": "Forbidden",
    "404": "NotFound",
    "405": "MethodNotAllowed",
    "406": "NotAcceptable",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
    "429": "RateLimited",
    "500": "InternalError",
    "503": "ServiceUnavailable",
}

# Headers of every webhook delivery (webhooks.delivery._request_headers), documented on each event.
WEBHOOK_DELIVERY_HEADERS: list[dict[str, Any]] = [
    {
        "name": "X-AIP-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "`t=<unix seconds>,v1=<hex>`; v1 is HMAC-SHA256(secret, `<t>.<raw body>`). During a secret "
        "rotation there is one v1 per secret: accept any that matches.",
    },
    {
        "name": "X-AIP-Event-Id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "The event id (`evt_…`), as in the body.",
    },
    {"name": "X-AIP-Event-Type", "in": "header", "required": True, "schema": {"type": "string"}},
    {
        "name": "X-AIP-Delivery-Id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "The delivery (`del_…`); a replay is a new delivery of the same event.",
    },
    {"name": "X-AIP-Attempt", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 1}},
    {"name": "X-AIP-Mode", "in": "header", "required": True, "schema": {"type": "string", "enum": ["live", "test"]}},
]

# Operation groups in reading order, with the names and descriptions the docs page shows.
TAGS: list[tuple[str, str, str]] = [
    ("calls", "Calls", "Calls, newest first, with their transcripts and signed recording URLs."),
    ("contacts", "Contacts", "The people who call and text the business."),
    ("messages", "Messages (SMS)", "Send texts from the business's number, through the app's compliance checks."),
    ("config", "AI config", "The curated, safe subset of the AI receptionist's settings."),
    ("webhooks", "Webhooks", "Endpoints that receive events, their delivery logs, tests, replays and recovery."),
    (
        "events",
        "Events",
        "The event log of the last 30 days: browse it, or follow it with a long poll (no public URL needed).",
    ),
    ("keys", "API keys", "Create, list, rotate and revoke keys. Secrets are shown once."),
    ("tools", "Custom tools", "Your HTTPS endpoints the AI may call during a conversation."),
    ("agents", "AI agents", "Specialist agents the greeter hands calls to."),
    ("data-fields", "Data-collection fields", "What the AI collects from callers, for all agents or one."),
    ("usage", "Usage", "Metered usage and charges by key, metric and day."),
]
WEBHOOK_EVENTS_TAG = (
    "webhook events",
    "Webhook events",
    "What the platform POSTs to your endpoints: one event per request, signed with "
    "`X-AIP-Signature`. Delivery is at-least-once: dedupe on the event `id`.",
)

API_GUIDE = """
## Conventions

**Authentication.** Send your key as `Authorization: Bearer <key>` (or in `x-api-key`). Keys starting
`aip_live_` act on live data and are billed; `aip_test_` keys read the same data but never send, bill
or block on balance. Each key has scopes; an operation states the scope it needs, in words and in
`x-required-scopes` (also as the roles of its security requirement).

**Envelope.** Every response is JSON: `{"success": true, "data": …, "message": "…"}` on success (lists add
`pagination`), `{"success": false, "error": {"message", "code", "status", "requestId", "fields"?}}` on
failure. `error.code` is stable; `error.fields` names each bad field of a `VALIDATION_ERROR`. Every
response carries `X-Request-Id`; quote it to support.

**Pagination.** Lists are newest first. Pass `limit` (1–100, default 25) and the `cursor` from the
previous page's `pagination.nextCursor`; `hasMore` is false on the last page.

**Rate limits.** Per key, per minute, shown in `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset`. A 429 carries `Retry-After` (seconds). Under overload the API answers 503
`SERVICE_UNAVAILABLE` at once, with `Retry-After`, having done nothing: retrying is always safe.

**Idempotency.** Every write (POST, PATCH, DELETE) accepts an `Idempotency-Key` header. A retry with the
same key, method, path and body within 24 hours returns the first successful result
(`Idempotent-Replayed: true`) instead of acting again; the same key with another request is
`422 IDEMPOTENCY_KEY_REUSED`, and a retry while the first is still running `409 IDEMPOTENCY_KEY_IN_USE`.
A failed request keeps nothing, so it can be corrected and retried with its key. Keys are scoped to
the business and the key's mode (test or live). Send one with every write you may retry.

**Input.** Bodies are JSON objects (`Content-Type: application/json`). Times are ISO 8601 and returned in
UTC (`2026-06-28T20:00:00Z`). Ids are opaque prefixed strings (`call_…`, `con_…`, `whk_…`). No string
may contain the NUL character (U+0000) or a lone UTF-16 surrogate (`\\ud800`–`\\udfff`). A body over
{max_body} bytes is refused with `413 PAYLOAD_TOO_LARGE`; arrays and objects nested deeper than {max_depth}
levels with `400 VALIDATION_ERROR`.
"""

# Patterns shared by the docs serializers of several apps.
HHMM_PATTERN = r"^([01]\d|2[0-3]):([0-5]\d)$"
NOT_BLANK_PATTERN = r"\S"  # at least one character that is not whitespace

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string of printable ASCII (a UUID is a good key). A retry with the same key and body "
    "gets the first result back (with `Idempotent-Replayed: true`) instead of acting twice. Kept for "
    "24 hours.",
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    location=OpenApiParameter.HEADER,
    response=[200, 201],  # only successes are stored and replayed
    description="Present when this is the stored result of an earlier request with the same Idempotency-Key.",
)

LIST_PARAMETERS = [
    # `limit=` (empty) is read as the default, like a missing limit; the schema says so.
    OpenApiParameter(
        "limit",
        {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, {"type": "string", "maxLength": 0}],
            "default": 25,
        },
        description="Page size, 1–100 (default 25).",
        required=False,
    ),
    OpenApiParameter("cursor", str, description="`pagination.nextCursor` from the previous page.", required=False),
]


def error_response(description: str, *codes: str) -> OpenApiResponse:
    """An error particular to one operation (beyond those every operation shares): the error envelope,
    with the codes it can carry named. Use as `responses={409: error_response("…", "CODE")}`."""
    return OpenApiResponse(response=OpenApiTypes.OBJECT, description=f"{description} Codes: {', '.join(codes)}.")


# No docstring on purpose: drf-spectacular would show a mixin's docstring as each component's description.
class WireNamesMixin:
    # For docs serializers whose wire field is a Python keyword: declare `from_`, document `from`.

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()  # type: ignore[misc]
        return {_wire_name(name): field for name, field in fields.items()}


def _wire_name(name: str) -> str:
    return name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "developer.public_api.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyHeader"]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "aip_live_… or aip_test_…",
                "description": "`Authorization: Bearer <key>`. The key's prefix picks the mode: `aip_live_` or "
                "`aip_test_` (sandbox: never bills, never sends).",
            },
            {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "The same key, in `x-api-key`."},
        ]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list]]:
        return [{"bearerAuth": []}, {"apiKeyHeader": []}]  # either one


class PublicAutoSchema(AutoSchema):
    """Tags operations by their first path segment and records the view's required scope."""

    def get_tags(self) -> list[str]:
        segment = re.sub(r"^/api/public/v1/", "", self.path).split("/")[0]
        return [segment or "meta"]

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's AutoSchema drops DRF's arguments
        # The handler's own docstring, never the base view's (which explains our internals).
        handler = getattr(self.view, self.method.lower(), None)
        return (handler.__doc__ or "").strip() if handler else ""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        scope = required_scope(self.view, self.method)
        if operation is None or scope is None:
            return operation
        # In words for people, and machine-readably twice: the extension SDK generators read, and the
        # security requirement itself (OpenAPI 3.1 lets any scheme list the roles it needs).
        sentence = f"Requires the `{scope}` scope."
        description = operation.get("description", "")
        if sentence not in description:
            operation["description"] = (description + "\n\n" if description else "") + sentence
        operation["x-required-scopes"] = [scope]
        operation["security"] = [{"bearerAuth": [scope]}, {"apiKeyHeader": [scope]}]
        return operation

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        # drf-spectacular documents a DELETE as 204 without a body; ours answer 200 with the envelope.
        declared = self.get_response_serializers()
        if self.method == "DELETE" and (is_serializer(declared) or isinstance(declared, OpenApiResponse)):
            return {"200": self._get_response_for_code(declared, "200", direction=direction)}
        return super()._get_response_bodies(direction)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _is_enveloped(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    return "success" in _resolve(schema, components).get("properties", {})


def _envelope(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "data", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "data": schema,
            "message": {"type": "string", "description": "What happened, for people."},
        },
    }


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _error(code: str, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or _DESCRIPTIONS[code] + " Codes: " + ", ".join(ERROR_CODES[code]) + ".",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


def _operation_errors(path: str, operation: dict[str, Any]) -> list[str]:
    codes = list(_ALWAYS)
    if operation.get("parameters") or operation.get("requestBody"):
        codes.append("400")
    if "{" in path:
        codes.append("404")
    if operation.get("requestBody"):
        codes += ["413", "415"]
    return codes


_WRITES = {"post", "put", "patch", "delete"}
# What every write may answer because of its Idempotency-Key (developer/public_api/idempotency.py).
_IDEMPOTENCY_ERRORS = {
    "409": (
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed; retry after it finishes.",
    ),
    "422": ("IDEMPOTENCY_KEY_REUSED", "The Idempotency-Key was already used with a different request."),
}


def _document_idempotency(operation: dict[str, Any]) -> None:
    """The Idempotency-Key header, the replay header on successes and the two key conflicts, on one write."""
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name") == "Idempotency-Key" and p.get("in") == "header" for p in parameters):
        parameters.append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": IDEMPOTENCY_KEY.type,
                "description": IDEMPOTENCY_KEY.description,
            }
        )
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {}).setdefault(
                "Idempotent-Replayed", {"$ref": "#/components/headers/Idempotent-Replayed"}
            )
    for status, (code, description) in _IDEMPOTENCY_ERRORS.items():
        existing = responses.get(status)
        if existing is None:
            responses[status] = {**_error(status, f"{description} Codes: {code}."), "headers": {}}
        elif code not in existing.get("description", ""):
            existing["description"] = f"{existing.get('description', '').rstrip('.')}. Or: {description} Codes: {code}."


def postprocess_envelopes(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Wrap success bodies, add every shared error response and header, close request bodies to unknown
    fields, group the tags, document the webhook delivery headers, and write null the OpenAPI 3.1 way.
    Registered in SPECTACULAR_SETTINGS."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ERROR_ENVELOPE
    result["components"]["headers"] = HEADERS
    result["components"]["responses"] = {
        name: {
            **_error(code),
            "headers": _header_refs(*_SHARED_HEADERS, *(("Retry-After",) if code in ("429", "503") else ())),
        }
        for code, name in _RESPONSE_NAMES.items()
    }
    guide = API_GUIDE.replace("{max_body}", str(settings.API_MAX_BODY_BYTES)).replace(
        "{max_depth}", str(settings.API_MAX_JSON_DEPTH)
    )
    result["info"]["description"] = result["info"].get("description", "") + "\n" + guide
    _add_tags(result)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            if method in _WRITES:
                _document_idempotency(operation)
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2"):
                    if content and not _is_enveloped(content["schema"], components):
                        content["schema"] = _envelope(content["schema"])
                    response["description"] = response.get("description") or "OK"
                elif content is not None:  # an error_response(): the error envelope, whatever was declared
                    responses[status] = {
                        **_error(status, response.get("description")),
                        "headers": response.get("headers", {}),
                    }
            for response in responses.values():
                response.setdefault("headers", {}).update(_header_refs(*_SHARED_HEADERS))
            for code in _operation_errors(path, operation):
                responses.setdefault(code, {"$ref": f"#/components/responses/{_RESPONSE_NAMES[code]}"})
            operation["responses"] = dict(sorted(responses.items()))
    # Every body refuses fields it does not know (400 naming them), at any depth.
    for name in _request_components(result.get("paths", {}), components):
        schema = components[name]
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    for operations in result.get("webhooks", {}).values():
        for operation in operations.values():
            operation.setdefault("parameters", []).extend(WEBHOOK_DELIVERY_HEADERS)
            operation.pop("security", None)  # the receiver checks the signature, not an API key
    return _nullable_to_type_null(result)


def _add_tags(result: dict[str, Any]) -> None:
    """Tags in reading order with display names, grouped (Redoc's `x-tagGroups`): the API, then the events."""
    used = {tag for item in result.get("paths", {}).values() for op in item.values() for tag in op.get("tags", [])}
    known = [name for name, _, _ in TAGS]
    api_tags = [name for name in known if name in used] + sorted(used - set(known) - {WEBHOOK_EVENTS_TAG[0]})
    described = {name: (label, text) for name, label, text in [*TAGS, WEBHOOK_EVENTS_TAG]}
    tags = api_tags + ([WEBHOOK_EVENTS_TAG[0]] if result.get("webhooks") else [])
    result["tags"] = [
        {
            "name": name,
            "x-displayName": described.get(name, (name.title(), ""))[0],
            "description": described.get(name, ("", ""))[1],
        }
        for name in tags
    ]
    result["x-tagGroups"] = [{"name": "API", "tags": api_tags}]
    if result.get("webhooks"):
        result["x-tagGroups"].append({"name": "Webhooks you receive", "tags": [WEBHOOK_EVENTS_TAG[0]]})


def _request_components(paths: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """Names of the component schemas a request body of `paths` uses, directly or nested."""
    found: set[str] = set()
    pending = [
        operation.get("requestBody", {})
        for operations in paths.values()
        for operation in operations.values()
        if isinstance(operation, dict)
    ]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in found and name in components:
                    found.add(name)
                    pending.append(components[name])
            pending.extend(node.values())
    return found


def _nullable_to_type_null(node: Any) -> Any:
    """OpenAPI 3.1 has no `nullable`: hand-written 3.0-style schemas (`"nullable": true`) become
    `type: [T, "null"]` (or `oneOf [..., {type: null}]` around a reference) so validators honour it."""
    if isinstance(node, list):
        return [_nullable_to_type_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_type_null(value) for key, value in node.items()}
    if node.get("nullable") is True and ("type" in node or "$ref" in node or "allOf" in node):
        del node["nullable"]
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        elif isinstance(kind, list):
            node["type"] = kind if "null" in kind else [*kind, "null"]
        else:
            node = {"oneOf": [node, {"type": "null"}]}
    elif "nullable" in node and node["nullable"] is False:
        del node["nullable"]
    return node


def public_endpoints_only(endpoints: list[tuple]) -> list[tuple]:
    """Document the public API only, without the catch-all 404 route."""
    return [
        (path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if path.startswith("/api/public/v1/")
        and "openapi" not in path
        and "^.*$" not in regex
        and not path.endswith("/.*")
    ]
