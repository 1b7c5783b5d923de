"""The wire dicts of the agents API: tools (secrets only masked), agents and data-collection fields."""

from __future__ import annotations

from typing import Any

from core.timefmt import iso

from .models import Agent, CustomTool, DataCollectionField


def auth_json(tool: CustomTool) -> dict[str, Any]:
    """The tool's auth as the API shows it: the kind and non-secret parts; secrets only masked."""
    auth: dict[str, Any] = {"type": tool.auth_type}
    if tool.auth_type == CustomTool.AuthType.BEARER:
        auth["token"] = tool.masked_secret
    elif tool.auth_type == CustomTool.AuthType.HEADER:
        auth.update(headerName=tool.auth_header_name, value=tool.masked_secret)
    elif tool.auth_type == CustomTool.AuthType.BASIC:
        auth.update(username=tool.auth_username, password=tool.masked_secret)
    return auth


def tool_json(tool: CustomTool) -> dict[str, Any]:
    return {
        "id": tool.public_id,
        "name": tool.name,
        "description": tool.description,
        "inputSchema": tool.input_schema,
        "endpointUrl": tool.endpoint_url,
        "auth": auth_json(tool),
        "timeoutSeconds": tool.timeout_seconds,
        "enabled": tool.enabled,
        "lastInvokedAt": iso(tool.last_invoked_at),
        "lastInvocationStatus": tool.last_invocation_status or None,
        "createdAt": iso(tool.created_at),
        "updatedAt": iso(tool.updated_at),
    }


def agent_json(agent: Agent) -> dict[str, Any]:
    tool_ids = [t.public_id for t in agent.custom_tools.all()]
    return {
        "id": agent.public_id,
        "agentKey": agent.agent_key,
        "displayName": agent.display_name,
        "instructions": agent.instructions,
        "matchHints": list(agent.match_hints),
        "tools": {
            "useCustomToolIds": tool_ids,
            "allowPayments": agent.allow_payments,
            "allowBooking": agent.allow_booking,
            "allowTransfer": agent.allow_transfer,
            "allowKnowledgeSearch": agent.allow_knowledge_search,
        },
        "knowledgeBaseIds": [kb.public_id for kb in agent.knowledge_bases.all()],
        "isDefault": agent.is_default,
        "enabled": agent.enabled,
        "createdAt": iso(agent.created_at),
        "updatedAt": iso(agent.updated_at),
    }


def data_field_json(data_field: DataCollectionField) -> dict[str, Any]:
    return {
        "id": data_field.public_id,
        "key": data_field.key,
        "label": data_field.label,
        "type": data_field.type,
        "choices": list(data_field.choices),
        "required": data_field.required,
        "agentId": data_field.agent.public_id if data_field.agent is not None else None,
        "createdAt": iso(data_field.created_at),
        "updatedAt": iso(data_field.updated_at),
    }
