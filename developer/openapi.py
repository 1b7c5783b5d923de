"""OpenAPI description of the public API (drf-spectacular).

Views declare their success payload with `@extend_schema(responses=...)`; this module adds what every
operation shares so no view repeats it: the `{success, data, message}` envelope around 2xx bodies,
the error envelope for each failure the operation can return, the request-id and rate-limit
headers, and the two ways to send a key.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

ERROR_CODES: dict[str, list[str]] = {
    "400": ["VALIDATION_ERROR"],
    "401": ["API_KEY_REQUIRED", "INVALID_API_KEY"],
    "402": ["SUBSCRIPTION_REQUIRED", "PLATFORM_ADDON_REQUIRED", "INSUFFICIENT_CREDITS"],
    "403": ["BUSINESS_SUSPENDED", "INSUFFICIENT_SCOPE"],
    "404": ["RESOURCE_NOT_FOUND"],
    "405": ["METHOD_NOT_ALLOWED"],
    "406": ["NOT_ACCEPTABLE"],
    "415": ["VALIDATION_ERROR"],
    "429": ["RATE_LIMIT_EXCEEDED"],
    "500": ["INTERNAL_ERROR"],
}
_DESCRIPTIONS = {
    "400": "The request failed validation; `error.fields` names each bad field.",
    "401": "No API key, or the key is unknown, revoked or expired.",
    "402": "No active subscription, no Developer Platform add-on, or (live keys) an empty wallet.",
    "403": "The organisation is suspended, or the key lacks the scope this operation requires.",
    "404": "No such route, or the id does not exist in this organisation.",
    "405": "The route exists but not with this method.",
    "406": "The API only answers application/json.",
    "415": "The body must be JSON (`Content-Type: application/json`).",
    "429": "Rate limit exceeded: retry after `Retry-After` seconds.",
    "500": "Unexpected error; give `error.requestId` to support.",
}

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
                "status": {"type": "integer"},
                "requestId": {"type": "string", "nullable": True},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "For VALIDATION_ERROR: each bad field (dotted path) and what is wrong.",
                },
            },
        },
    },
}

_HEADERS = {
    "X-Request-Id": {"schema": {"type": "string"}, "description": "Unique id of this request; quote it to support."},
    "X-RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Requests allowed per minute for this key."},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Requests left in the current window."},
    "X-RateLimit-Reset": {"schema": {"type": "integer"}, "description": "Unix time when the bucket is full again."},
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "developer.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyHeader"]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "aip_live_… or aip_test_…"},
            {"type": "apiKey", "in": "header", "name": "x-api-key"},
        ]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list]]:
        return [{"bearerAuth": []}, {"apiKeyHeader": []}]  # either one


class PublicAutoSchema(AutoSchema):
    """Tags operations by their first path segment and records the view's required scope."""

    def get_tags(self) -> list[str]:
        segment = re.sub(r"^/api/public/v1/", "", self.path).split("/")[0]
        return [segment or "meta"]

    def get_description(self) -> str:
        # The handler's own docstring, never the base view's (which explains our internals).
        handler = getattr(self.view, self.method.lower(), None)
        description = (handler.__doc__ or "").strip() if handler else ""
        scope = getattr(self.view, "required_scope", None)
        if isinstance(scope, dict):
            scope = scope.get(self.method)
        if scope:
            description = (description + "\n\n" if description else "") + f"Requires the `{scope}` scope."
        return description


def _is_enveloped(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return "success" in schema.get("properties", {})


def _envelope(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "data", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "data": schema,
            "message": {"type": "string"},
        },
    }


def postprocess_envelopes(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Wrap success bodies, add every shared error response and header. Registered in SPECTACULAR_SETTINGS."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ERROR_ENVELOPE
    error_ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content and not _is_enveloped(content["schema"], components):
                    content["schema"] = _envelope(content["schema"])
                response.setdefault("headers", {}).update(_HEADERS)
            codes = ["401", "402", "403", "405", "406", "429", "500"]
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append("400")
            if "{" in path:
                codes.append("404")
            if operation.get("requestBody"):
                codes.append("415")
            for code in codes:
                if code not in responses:
                    responses[code] = {
                        "description": _DESCRIPTIONS[code] + " Codes: " + ", ".join(ERROR_CODES[code]) + ".",
                        "content": {"application/json": {"schema": error_ref}},
                        "headers": dict(_HEADERS),
                    }
            if "429" in responses:
                responses["429"]["headers"]["Retry-After"] = {
                    "schema": {"type": "integer"}, "description": "Seconds to wait before retrying.",
                }
    return result


def public_endpoints_only(endpoints: list[tuple]) -> list[tuple]:
    """Document the public API only, without the catch-all 404 route."""
    return [
        (path, regex, method, callback) for path, regex, method, callback in endpoints
        if path.startswith("/api/public/v1/") and "openapi" not in path and "^.*$" not in regex
        and not path.endswith("/.*")
    ]


LIST_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                     description="Page size, 1–100 (default 25).", required=False),
    OpenApiParameter("cursor", str, description="`pagination.nextCursor` from the previous page.", required=False),
]
