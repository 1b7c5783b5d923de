"""Write src/generated/openapi.ts from the API's OpenAPI document (standard library only).

    python scripts/openapi_to_ts.py openapi.json > src/generated/openapi.ts

Every component schema becomes a TypeScript type under `components["schemas"]`, and every webhook
the document describes becomes one member of the `WebhookEvent` discriminated union (narrowed on
`type`). The hand-written types in src/types.ts are checked against these at compile time
(test/openapi-types.test.ts), and the platform's tests regenerate this file from the live document
and fail when it differs, so neither the SDK's types nor this file can drift from the API.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _key(name: str) -> str:
    return name if IDENT.match(name) else json.dumps(name)


def _doc(text: str | None, indent: str) -> str:
    if not text:
        return ""
    line = " ".join(text.split()).replace("*/", "*\\/")
    return f"{indent}/** {line} */\n"


def ts_type(schema: Any, indent: str = "") -> str:
    if schema is True or schema == {} or schema is None:
        return "unknown"
    if "$ref" in schema:
        return f'components["schemas"]["{schema["$ref"].rsplit("/", 1)[-1]}"]'
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    for combinator, joiner in (("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")):
        if combinator in schema:
            parts = [ts_type(option, indent) for option in schema[combinator]]
            rest = {k: v for k, v in schema.items() if k not in (combinator, "description", "default")}
            if rest.get("type") or rest.get("properties"):
                parts.append(ts_type(rest, indent))
            return "(" + joiner.join(parts) + ")" if len(parts) > 1 else parts[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(ts_type({**schema, "type": k}, indent) for k in kind)
    if kind == "null":
        return "null"
    if kind in ("string",):
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        item = ts_type(schema.get("items", {}), indent)
        return f"Array<{item}>"
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        extra = schema.get("additionalProperties")
        if not properties:
            return "Record<string, unknown>" if extra in (None, True, {}) else f"Record<string, {ts_type(extra, indent)}>"
        inner = indent + "  "
        lines = ["{"]
        for name, prop in properties.items():
            optional = "" if name in required else "?"
            lines.append(_doc(prop.get("description"), inner) + f"{inner}{_key(name)}{optional}: {ts_type(prop, inner)};")
        lines.append(f"{indent}}}")
        return "\n".join(line.rstrip("\n") for line in lines)
    return "unknown"


def generate(document: dict[str, Any]) -> str:
    schemas = document["components"]["schemas"]
    out = [
        "// Generated from the API's OpenAPI document by scripts/openapi_to_ts.py: do not edit.",
        f"// {document['info']['title']} {document['info']['version']}",
        "/* eslint-disable */",
        "",
        "export interface components {",
        "  schemas: {",
    ]
    for name, schema in schemas.items():
        out.append(_doc(schema.get("description"), "    ").rstrip("\n")) if schema.get("description") else None
        out.append(f"    {_key(name)}: {ts_type(schema, '    ')};")
    out += ["  };", "}", ""]
    events: list[tuple[str, str]] = []
    for event_type, operations in document.get("webhooks", {}).items():
        body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
        events.append((event_type, body["$ref"].rsplit("/", 1)[-1]))
    for event_type, component in events:
        out.append(f'/** The `{event_type}` event. */')
        out.append(f'export type {component} = components["schemas"]["{component}"];')
    out.append("")
    out.append("/** Every event a webhook endpoint can receive: narrow it on `event.type`. */")
    out.append("export type WebhookEvent =\n" + "\n".join(f"  | {component}" for _, component in events) + ";")
    out.append("")
    out.append('/** The `type` of every event. */\nexport type WebhookEventType = WebhookEvent["type"];')
    out.append("")
    out.append("/** The event of one type: `EventOfType<\"call.completed\">`. */")
    out.append('export type EventOfType<T extends WebhookEventType> = Extract<WebhookEvent, { type: T }>;')
    out.append("")
    out.append("/** Every event type, in the document's order. */")
    out.append(
        "export const WEBHOOK_EVENT_TYPES = ["
        + ", ".join(json.dumps(event_type) for event_type, _ in events)
        + "] as const satisfies readonly WebhookEventType[];"
    )
    return "\n".join(line for line in out if line is not None) + "\n"


def main() -> int:
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    sys.stdout.write(generate(json.load(source)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
