"""Every state change of custom tools, agents and data-collection fields, plus routing and the
simulated hand-off. The public API, the dashboard and the admin call these functions, so
validation and the audit trail are the same whichever door is used.

Each service takes snake_case keyword arguments; an optional one left ``UNSET`` is not changed.
The ``*_FIELDS`` maps translate the wire's camelCase names to those keywords (the API uses them to
read a body). Bad input raises ``ValidationError({"camelCaseField": [...]})`` keyed by the wire
names, naming every bad field at once, and nothing is half-written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accounts.models import Organization
from accounts.services import audit_record
from billing.attribution import UsageSource, attribution_of
from core import outbound
from core.errors import UNSET, ServiceError, Unset, given
from core.modes import Mode
from phone.models import KnowledgeBase

from . import routing
from .invocation import (  # noqa: F401 — re-exported: the one invocation service
    InvocationMismatch,
    ToolResult,
    invocations_expire,
    invocations_prune,
    tool_invocation_run,
    tool_invoke,
    tool_invoke_enqueue,
)
from .models import (
    MASK,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    Agent,
    AgentKnowledgeBase,
    AgentTool,
    CustomTool,
    DataCollectionField,
    ToolInvocation,
)
from .signing_secrets import (  # noqa: F401
    signing_secret_for,
    signing_secret_reveal,
    signing_secret_rotate,
)
from .tool_schema import check_schema, example_arguments

if TYPE_CHECKING:
    from accounts.services import Actor

MAX_TOOLS_PER_ORGANIZATION = 50
MAX_AGENTS_PER_ORGANIZATION = 20
MAX_DATA_FIELDS_PER_ORGANIZATION = 100
MAX_DESCRIPTION_LENGTH = 1024
MAX_INSTRUCTIONS_LENGTH = 8000
MAX_HINTS, MAX_HINT_LENGTH = 50, 100
MAX_CHOICES, MAX_CHOICE_LENGTH = 50, 100
MAX_SECRET_LENGTH = 4096

TOOL_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
AGENT_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,39}")
FIELD_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
# Names the AI already knows as built-in abilities; a custom tool named like one would be ambiguous.
RESERVED_TOOL_NAMES = frozenset(
    {
        "send_payment_link",
        "book_appointment",
        "transfer_call",
        "search_knowledge",
        "hand_off",
        "end_call",
        "take_message",
    }
)
# Headers the platform sets on every call; a credential header must not replace them.
RESERVED_AUTH_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "content-type", "accept", "user-agent"}
)
_UNSET: Any = object()


# ---------------------------------------------------------------------------------------------
# Input helpers


class _Errors:
    """Collects field errors so a request hears about every bad field at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def run(self, name: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                for message in messages:
                    self.add(key if key != "__all__" else name, message)
            return _UNSET

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError(self.fields)


def _save_unique(obj: Any, *, taken: Callable[[], bool], conflict: dict[str, list[str]]) -> None:
    """Save. A unique constraint hit by a concurrent request becomes the same 400 the check gives
    when the value is now taken; any other constraint is a 409 to retry."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        if taken():
            raise ValidationError(conflict) from None
        raise ServiceError(
            "Another change to the same records happened at the same moment; try again.", code="CONFLICT", status=409
        ) from None


def _check_mode(mode: str) -> None:
    if mode not in Mode.values:
        raise ValueError(f"mode must be one of {Mode.values}, not {mode!r}")


def _reject_unknown(data: Mapping[str, Any], allowed: Sequence[str], prefix: str = "") -> None:
    unknown = [name for name in data if name not in allowed]
    if unknown:
        raise ValidationError(
            {f"{prefix}{name}": [f"Unknown field. Allowed: {', '.join(allowed)}."] for name in unknown}
        )


def _required_text(data: Mapping[str, Any], name: str, *, max_length: int, label: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({name: [f"Give the {label}."]})
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError({name: [f"At most {max_length} characters."]})
    return value


def _bool(data: Mapping[str, Any], name: str, wire: str | None = None) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise ValidationError({wire or name: ["Must be true or false."]})
    return value


def _id_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError({name: ["Must be an array of id strings."]})
    return list(dict.fromkeys(value))  # duplicates collapse, order kept


# ---------------------------------------------------------------------------------------------
# Custom tools

# Wire name → keyword of tool_create/tool_update (the API's translation of a body).
TOOL_FIELDS = {
    "name": "name",
    "description": "description",
    "inputSchema": "input_schema",
    "endpointUrl": "endpoint_url",
    "auth": "auth",
    "timeoutSeconds": "timeout_seconds",
    "enabled": "enabled",
}
AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    CustomTool.AuthType.NONE: ("type",),
    CustomTool.AuthType.BEARER: ("type", "token"),
    CustomTool.AuthType.HEADER: ("type", "headerName", "value"),
    CustomTool.AuthType.BASIC: ("type", "username", "password"),
}
_AUTH_SECRET_FIELD: dict[str, str] = {
    CustomTool.AuthType.BEARER: "token",
    CustomTool.AuthType.HEADER: "value",
    CustomTool.AuthType.BASIC: "password",
}


def schema_problem_field(path: str) -> str:
    return f"inputSchema.{path}" if path else "inputSchema"


def _clean_tool_name(value: Any) -> str:
    if not isinstance(value, str) or not TOOL_NAME_RE.fullmatch(value):
        raise ValidationError(
            {
                "name": [
                    "Use snake_case: lowercase letters, digits and underscores, starting with a "
                    "letter, at most 64 characters (e.g. lookup_order)."
                ]
            }
        )
    if value in RESERVED_TOOL_NAMES:
        raise ValidationError({"name": [f"“{value}” is the name of a built-in ability; choose another name."]})
    return value


def _clean_schema(value: Any) -> dict[str, Any]:
    problem = check_schema(value)
    if problem is not None:
        raise ValidationError({schema_problem_field(problem.path): [problem.message]})
    return value


def tool_schema_check(schema: Any) -> dict[str, Any]:
    """Raise the ValidationError a save would raise for this schema (the editor's inline check)."""
    return _clean_schema(schema)


def _clean_endpoint_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({"endpointUrl": ["Give the public https URL the AI should call."]})
    value = value.strip()
    try:
        outbound.validate_url(value)
    except outbound.OutboundRefused as exc:
        raise ValidationError({"endpointUrl": [exc.reason[:1].upper() + exc.reason[1:] + "."]}) from None
    return value


def _clean_timeout(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TIMEOUT_SECONDS <= value <= MAX_TIMEOUT_SECONDS:
        raise ValidationError(
            {
                "timeoutSeconds": [
                    f"Must be a whole number of seconds from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}."
                ]
            }
        )
    return value


@dataclass(frozen=True)
class _Auth:
    type: str
    header_name: str = ""
    username: str = ""
    secret: str | None = None  # None: keep the stored secret


def _header_safe(value: str) -> bool:
    return value.isascii() and all(32 <= ord(c) < 127 for c in value)


def _clean_auth(value: Any, *, current: CustomTool | None) -> _Auth:
    """Validate an auth object. A secret left out (or sent back masked) keeps the stored one,
    as long as the type is unchanged, so a client can round-trip what GET returned."""
    if value is None:
        return _Auth(type=CustomTool.AuthType.NONE)
    if not isinstance(value, dict):
        raise ValidationError({"auth": ['Must be an object such as {"type": "bearer", "token": "…"}.']})
    auth_type = value.get("type")
    if not isinstance(auth_type, str) or auth_type not in AUTH_FIELDS:
        raise ValidationError({"auth.type": [f"Must be one of: {', '.join(AUTH_FIELDS)}."]})
    _reject_unknown(value, AUTH_FIELDS[auth_type], prefix="auth.")
    errors = _Errors()
    header_name: str | None = ""
    username: str | None = ""
    if auth_type == CustomTool.AuthType.HEADER:
        header_name = value.get("headerName")
        if not isinstance(header_name, str) or not HEADER_NAME_RE.fullmatch(header_name):
            errors.add("auth.headerName", "Give a valid HTTP header name, e.g. X-Api-Key.")
        elif header_name.lower() in RESERVED_AUTH_HEADERS or header_name.lower().startswith("x-aip-"):
            errors.add("auth.headerName", f"{header_name} is set by AI Phone 360 on every call; choose another header.")
    if auth_type == CustomTool.AuthType.BASIC:
        username = value.get("username")
        if (
            not isinstance(username, str)
            or not username
            or ":" in username
            or len(username) > 200
            or not _header_safe(username)
        ):
            errors.add("auth.username", "Give a user name of printable ASCII without a colon (at most 200 characters).")

    secret: str | None = None
    secret_field = _AUTH_SECRET_FIELD.get(auth_type)
    if secret_field:
        given = value.get(secret_field)
        keeps = current is not None and current.auth_type == auth_type and current.auth_secret_encrypted
        if (given is None or (isinstance(given, str) and given.startswith(MASK))) and keeps:
            secret = None
        elif not isinstance(given, str) or not given:
            errors.add(f"auth.{secret_field}", "Give the secret to send.")
        elif len(given) > MAX_SECRET_LENGTH or not _header_safe(given):
            errors.add(f"auth.{secret_field}", f"Must be printable ASCII of at most {MAX_SECRET_LENGTH} characters.")
        else:
            secret = given
    errors.raise_if_any()
    return _Auth(
        type=auth_type, header_name=header_name or "", username=username or "", secret=secret if secret_field else ""
    )


def _apply_auth(tool: CustomTool, auth: _Auth) -> None:
    tool.auth_type, tool.auth_header_name, tool.auth_username = auth.type, auth.header_name, auth.username
    if auth.secret is not None:
        tool.set_auth_secret(auth.secret)


def _clean_tool(
    values: dict[str, Any], *, organization: Organization, mode: str, current: CustomTool | None
) -> dict[str, Any]:
    """The given keyword values checked; returns them keyed by wire name (as the errors are)."""
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    creating = current is None
    checks: dict[str, Callable[[Any], Any]] = {
        "name": _clean_tool_name,
        "description": lambda v: _required_text(
            {"description": v}, "description", max_length=MAX_DESCRIPTION_LENGTH, label="description"
        ),
        "inputSchema": _clean_schema,
        "endpointUrl": _clean_endpoint_url,
        "timeoutSeconds": _clean_timeout,
        "enabled": lambda v: _bool({"enabled": v}, "enabled"),
        "auth": lambda v: _clean_auth(v, current=current),
    }
    for name, check in checks.items():
        if TOOL_FIELDS[name] in values:
            value = errors.run(name, functools.partial(check, values[TOOL_FIELDS[name]]))
            if value is not _UNSET:
                cleaned[name] = value
        elif creating and name in ("name", "description", "inputSchema", "endpointUrl"):
            errors.add(name, "This field is required.")
    if "name" in cleaned and _name_taken(organization, mode, cleaned["name"], current):
        errors.add("name", f"A tool named {cleaned['name']} already exists in this business.")
    errors.raise_if_any()
    return cleaned


def tool_check(
    *, organization: Organization, mode: str, current: CustomTool | None, **values: Any
) -> dict[str, list[str]]:
    """Every problem a create (``current`` None) or an update of ``current`` would refuse with these keyword
    values, keyed by wire name, without saving: the editor reports the other fields' problems together with
    a schema that is not even JSON."""
    try:
        _clean_tool(values, organization=organization, mode=mode, current=current)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def _name_taken(organization: Organization, mode: str, name: str, exclude: CustomTool | None = None) -> bool:
    tools = CustomTool.objects.filter(organization=organization, mode=mode, name=name)
    return tools.exclude(pk=exclude.pk).exists() if exclude else tools.exists()


@transaction.atomic
def tool_create(
    *,
    organization: Organization,
    actor: Actor,
    mode: str = Mode.LIVE,
    name: str | Unset = UNSET,
    description: str | Unset = UNSET,
    input_schema: dict[str, Any] | Unset = UNSET,
    endpoint_url: str | Unset = UNSET,
    auth: dict[str, Any] | Unset | None = UNSET,
    timeout_seconds: int | Unset = UNSET,
    enabled: bool | Unset = UNSET,
) -> CustomTool:
    """Create a tool in ``mode`` (the key's, or the dashboard's viewing mode): name, description,
    input_schema and endpoint_url are required; auth is the wire's auth object
    (``{"type": "bearer", "token": …}``) or None for no credentials."""
    _check_mode(mode)
    values = given(
        name=name,
        description=description,
        input_schema=input_schema,
        endpoint_url=endpoint_url,
        auth=auth,
        timeout_seconds=timeout_seconds,
        enabled=enabled,
    )
    cleaned = _clean_tool(values, organization=organization, mode=mode, current=None)
    Organization.objects.select_for_update().filter(pk=organization.pk).first()  # serialise the count
    # The limits hold per mode, so a test sandbox never eats the live allowance.
    if CustomTool.objects.filter(organization=organization, mode=mode).count() >= MAX_TOOLS_PER_ORGANIZATION:
        raise ServiceError(
            f"A business can have at most {MAX_TOOLS_PER_ORGANIZATION} custom tools; delete one you no longer use."
        )
    tool = CustomTool(
        organization=organization,
        mode=mode,
        name=cleaned["name"],
        description=cleaned["description"],
        input_schema=cleaned["inputSchema"],
        endpoint_url=cleaned["endpointUrl"],
        timeout_seconds=cleaned.get("timeoutSeconds", MAX_TIMEOUT_SECONDS),
        enabled=cleaned.get("enabled", True),
    )
    _apply_auth(tool, cleaned.get("auth", _Auth(type=CustomTool.AuthType.NONE)))
    _save_unique(
        tool,
        taken=lambda: _name_taken(tool.organization, tool.mode, tool.name, tool),
        conflict={"name": [f"A tool named {tool.name} already exists in this business."]},
    )
    signing_secret_for(organization=organization)  # the receiver needs it before the first call
    audit_record(
        organization=organization,
        actor=actor,
        action="tool.created",
        target=tool,
        metadata={"name": tool.name, "endpointUrl": tool.endpoint_url, "auth": tool.auth_type},
    )
    return tool


@transaction.atomic
def tool_update(
    *,
    tool: CustomTool,
    actor: Actor,
    name: str | Unset = UNSET,
    description: str | Unset = UNSET,
    input_schema: dict[str, Any] | Unset = UNSET,
    endpoint_url: str | Unset = UNSET,
    auth: dict[str, Any] | Unset | None = UNSET,
    timeout_seconds: int | Unset = UNSET,
    enabled: bool | Unset = UNSET,
) -> CustomTool:
    """Change the fields given; an auth secret left out (or sent back masked) keeps the stored one."""
    values = given(
        name=name,
        description=description,
        input_schema=input_schema,
        endpoint_url=endpoint_url,
        auth=auth,
        timeout_seconds=timeout_seconds,
        enabled=enabled,
    )
    tool = CustomTool.objects.select_for_update().get(pk=tool.pk)
    cleaned = _clean_tool(values, organization=tool.organization, mode=tool.mode, current=tool)
    changes = []
    for wire, attr in (
        ("name", "name"),
        ("description", "description"),
        ("inputSchema", "input_schema"),
        ("endpointUrl", "endpoint_url"),
        ("timeoutSeconds", "timeout_seconds"),
        ("enabled", "enabled"),
    ):
        if wire in cleaned and cleaned[wire] != getattr(tool, attr):
            setattr(tool, attr, cleaned[wire])
            changes.append(wire)
    if "auth" in cleaned:
        new_auth: _Auth = cleaned["auth"]
        if (new_auth.type, new_auth.header_name, new_auth.username) != (
            tool.auth_type,
            tool.auth_header_name,
            tool.auth_username,
        ) or new_auth.secret is not None:
            _apply_auth(tool, new_auth)
            changes.append("auth")
    if changes:
        _save_unique(
            tool,
            taken=lambda: _name_taken(tool.organization, tool.mode, tool.name, tool),
            conflict={"name": [f"A tool named {tool.name} already exists in this business."]},
        )
        # Field names only: the audit trail must never hold a credential.
        audit_record(
            organization=tool.organization,
            actor=actor,
            action="tool.updated",
            target=tool,
            metadata={"changes": changes},
        )
    return tool


@transaction.atomic
def tool_delete(*, tool: CustomTool, actor: Actor) -> None:
    """Delete a tool; refused while an agent is limited to it (its list would silently mean "all")."""
    users = list(Agent.objects.filter(agenttool__tool=tool).order_by("agent_key").values_list("agent_key", flat=True))
    if users:
        raise ServiceError(
            f"The agent(s) {', '.join(users)} are limited to this tool; remove it from them first.",
            code="CONFLICT",
            status=409,
        )
    audit_record(
        organization=tool.organization, actor=actor, action="tool.deleted", target=tool, metadata={"name": tool.name}
    )
    tool.delete()


def tool_test_invoke(*, tool: CustomTool, arguments: Any, actor: Actor) -> ToolInvocation:
    """Test a tool: a real call in test mode (flagged, never billed), queued for the tools worker
    pool so the web process never waits on the endpoint. Asked by a key, it is that key's usage (an
    API test); asked by a person, the dashboard's."""
    caused_by = attribution_of(actor)
    invocation = tool_invoke_enqueue(
        tool=tool,
        arguments=arguments,
        call_session_id=f"test_{tool.public_id}",
        mode="test",
        source=ToolInvocation.Source.API if caused_by.source == UsageSource.API else ToolInvocation.Source.DASHBOARD,
        api_key_id=caused_by.api_key_id,
    )
    audit_record(
        organization=tool.organization,
        actor=actor,
        action="tool.tested",
        target=tool,
        metadata={"invocation": invocation.invocation_id},
    )
    return invocation


# ---------------------------------------------------------------------------------------------
# Agents

# Wire name → keyword of agent_create/agent_update.
AGENT_FIELDS = {
    "agentKey": "agent_key",
    "displayName": "display_name",
    "instructions": "instructions",
    "matchHints": "match_hints",
    "tools": "tools",
    "knowledgeBaseIds": "knowledge_base_ids",
    "isDefault": "is_default",
    "enabled": "enabled",
}
AGENT_TOOL_FIELDS = ("useCustomToolIds", "allowPayments", "allowBooking", "allowTransfer", "allowKnowledgeSearch")
_TOOL_FLAGS = {
    "allowPayments": "allow_payments",
    "allowBooking": "allow_booking",
    "allowTransfer": "allow_transfer",
    "allowKnowledgeSearch": "allow_knowledge_search",
}


def _clean_agent_key(value: Any) -> str:
    if not isinstance(value, str) or not AGENT_KEY_RE.fullmatch(value):
        raise ValidationError(
            {
                "agentKey": [
                    "Use a lowercase id: letters, digits, - and _, starting with a letter, "
                    "at most 40 characters (e.g. billing)."
                ]
            }
        )
    return value


def clean_match_hints(value: Any) -> list[str]:
    """Trimmed, non-empty phrases; duplicates (after normalising case, punctuation and word forms) dropped."""
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise ValidationError({"matchHints": ["Must be an array of phrases."]})
    hints: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for index, raw in enumerate(value):
        hint = " ".join(raw.split())
        if len(hint) > MAX_HINT_LENGTH:
            raise ValidationError({f"matchHints[{index}]": [f"At most {MAX_HINT_LENGTH} characters."]})
        words = routing.normalise(hint)
        if not words:
            raise ValidationError({f"matchHints[{index}]": ["Must contain at least one word."]})
        if words not in seen:
            seen.add(words)
            hints.append(hint)
    if len(hints) > MAX_HINTS:
        raise ValidationError({"matchHints": [f"At most {MAX_HINTS} hints."]})
    return hints


def _owned(
    rows: QuerySet[CustomTool] | QuerySet[KnowledgeBase],
    ids: list[str],
    field_name: str,
    noun: str,
) -> list[Any]:
    """The rows with these public ids among ``rows`` (this business's, in the right mode); else a 400
    naming each foreign id, the other mode's as much as another business's."""
    found = {row.public_id: row for row in rows.filter(public_id__in=ids)}
    missing = {
        f"{field_name}[{i}]": [f"No {noun} with id '{pid}' exists in this business."]
        for i, pid in enumerate(ids)
        if pid not in found
    }
    if missing:
        raise ValidationError(missing)
    return [found[pid] for pid in ids]


def _clean_agent_tools(value: Any, organization: Organization, mode: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError({"tools": ["Must be an object with useCustomToolIds and the allow… switches."]})
    _reject_unknown(value, AGENT_TOOL_FIELDS, prefix="tools.")
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    if "useCustomToolIds" in value:
        ids = errors.run(
            "tools.useCustomToolIds", lambda: _id_list(value["useCustomToolIds"], "tools.useCustomToolIds")
        )
        if ids is not _UNSET:
            tools = errors.run(
                "tools.useCustomToolIds",
                lambda: _owned(
                    CustomTool.objects.filter(organization=organization, mode=mode),
                    ids,
                    "tools.useCustomToolIds",
                    "custom tool",
                ),
            )
            if tools is not _UNSET:
                cleaned["useCustomToolIds"] = tools
    for wire in _TOOL_FLAGS:
        if wire in value:
            flag = errors.run(f"tools.{wire}", functools.partial(_bool, value, wire, f"tools.{wire}"))
            if flag is not _UNSET:
                cleaned[wire] = flag
    errors.raise_if_any()
    return cleaned


def _clean_agent(
    values: dict[str, Any], *, organization: Organization, mode: str, current: Agent | None
) -> dict[str, Any]:
    """The given keyword values checked; returns them keyed by wire name (as the errors are)."""
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], Any]] = {
        "agentKey": _clean_agent_key,
        "displayName": lambda v: _required_text(
            {"displayName": v}, "displayName", max_length=100, label="name callers and staff see"
        ),
        "instructions": lambda v: _required_text(
            {"instructions": v}, "instructions", max_length=MAX_INSTRUCTIONS_LENGTH, label="agent's instructions"
        ),
        "matchHints": clean_match_hints,
        "tools": lambda v: _clean_agent_tools(v, organization, mode),
        # Knowledge bases are the business's content, shared by both modes.
        "knowledgeBaseIds": lambda v: _owned(
            KnowledgeBase.objects.filter(organization=organization),
            _id_list(v, "knowledgeBaseIds"),
            "knowledgeBaseIds",
            "knowledge base",
        ),
        "isDefault": lambda v: _bool({"isDefault": v}, "isDefault"),
        "enabled": lambda v: _bool({"enabled": v}, "enabled"),
    }
    for name, check in checks.items():
        if AGENT_FIELDS[name] in values:
            value = errors.run(name, functools.partial(check, values[AGENT_FIELDS[name]]))
            if value is not _UNSET:
                cleaned[name] = value
        elif current is None and name in ("agentKey", "displayName", "instructions"):
            errors.add(name, "This field is required.")
    if "agentKey" in cleaned and _key_taken(organization, mode, cleaned["agentKey"], current):
        errors.add("agentKey", f"An agent with key {cleaned['agentKey']} already exists in this business.")
    errors.raise_if_any()
    return cleaned


def _make_only_default(agent: Agent) -> Agent | None:
    """Unset every other default of the business in the agent's mode; returns the agent that was default before.

    Runs under the organisation's row lock, so concurrent "make default" requests queue up and the
    last one wins; the partial unique index backs this at the database level.
    """
    previous = (
        Agent.objects.filter(organization_id=agent.organization_id, mode=agent.mode, is_default=True)
        .exclude(pk=agent.pk)
        .first()
    )
    if previous is not None:
        Agent.objects.filter(pk=previous.pk).update(is_default=False)
    return previous


def _apply_agent(agent: Agent, cleaned: dict[str, Any]) -> list[str]:
    changes = []
    for wire, attr in (
        ("agentKey", "agent_key"),
        ("displayName", "display_name"),
        ("instructions", "instructions"),
        ("matchHints", "match_hints"),
        ("isDefault", "is_default"),
        ("enabled", "enabled"),
    ):
        if wire in cleaned and cleaned[wire] != getattr(agent, attr):
            setattr(agent, attr, cleaned[wire])
            changes.append(wire)
    for wire, attr in _TOOL_FLAGS.items():
        if wire in cleaned.get("tools", {}) and cleaned["tools"][wire] != getattr(agent, attr):
            setattr(agent, attr, cleaned["tools"][wire])
            changes.append(f"tools.{wire}")
    return changes


def _set_relations(agent: Agent, cleaned: dict[str, Any], *, creating: bool) -> list[str]:
    changes = []
    tools = cleaned.get("tools", {}).get("useCustomToolIds")
    current_tools = set() if creating else set(agent.custom_tools.values_list("pk", flat=True))
    if tools is not None and (creating or {t.pk for t in tools} != current_tools):
        AgentTool.objects.filter(agent=agent).delete()
        AgentTool.objects.bulk_create([AgentTool(agent=agent, tool=t) for t in tools])
        changes.append("tools.useCustomToolIds")
    bases = cleaned.get("knowledgeBaseIds")
    current_bases = set() if creating else set(agent.knowledge_bases.values_list("pk", flat=True))
    if bases is not None and (creating or {b.pk for b in bases} != current_bases):
        AgentKnowledgeBase.objects.filter(agent=agent).delete()
        AgentKnowledgeBase.objects.bulk_create([AgentKnowledgeBase(agent=agent, knowledge_base=b) for b in bases])
        changes.append("knowledgeBaseIds")
    return [c for c in changes if not creating]


def _key_taken(organization: Organization, mode: str, key: str, exclude: Agent | None = None) -> bool:
    agents = Agent.objects.filter(organization=organization, mode=mode, agent_key=key)
    return agents.exclude(pk=exclude.pk).exists() if exclude else agents.exists()


@transaction.atomic
def agent_create(
    *,
    organization: Organization,
    actor: Actor,
    mode: str = Mode.LIVE,
    agent_key: str | Unset = UNSET,
    display_name: str | Unset = UNSET,
    instructions: str | Unset = UNSET,
    match_hints: list[str] | Unset = UNSET,
    tools: dict[str, Any] | Unset = UNSET,
    knowledge_base_ids: list[str] | Unset = UNSET,
    is_default: bool | Unset = UNSET,
    enabled: bool | Unset = UNSET,
) -> Agent:
    """Create an agent in ``mode``: agent_key, display_name and instructions are required; tools is
    the wire's object (``{"useCustomToolIds": […], "allowPayments": …}``); tool ids are public ids of
    this business's tools of the same mode."""
    _check_mode(mode)
    values = given(
        agent_key=agent_key,
        display_name=display_name,
        instructions=instructions,
        match_hints=match_hints,
        tools=tools,
        knowledge_base_ids=knowledge_base_ids,
        is_default=is_default,
        enabled=enabled,
    )
    cleaned = _clean_agent(values, organization=organization, mode=mode, current=None)
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if Agent.objects.filter(organization=organization, mode=mode).count() >= MAX_AGENTS_PER_ORGANIZATION:
        raise ServiceError(f"A business can have at most {MAX_AGENTS_PER_ORGANIZATION} agents.")
    agent = Agent(organization=organization, mode=mode, match_hints=[])
    _apply_agent(agent, cleaned)
    previous = _make_only_default(agent) if agent.is_default else None
    _save_unique(
        agent,
        taken=lambda: _key_taken(agent.organization, agent.mode, agent.agent_key, agent),
        conflict={"agentKey": [f"An agent with key {agent.agent_key} already exists in this business."]},
    )
    _set_relations(agent, cleaned, creating=True)
    audit_record(
        organization=organization,
        actor=actor,
        action="agent.created",
        target=agent,
        metadata={"agentKey": agent.agent_key, "isDefault": agent.is_default},
    )
    if previous is not None:
        audit_record(
            organization=organization,
            actor=actor,
            action="agent.default_changed",
            target=agent,
            metadata={"previous": previous.public_id},
        )
    return agent


@transaction.atomic
def agent_update(
    *,
    agent: Agent,
    actor: Actor,
    agent_key: str | Unset = UNSET,
    display_name: str | Unset = UNSET,
    instructions: str | Unset = UNSET,
    match_hints: list[str] | Unset = UNSET,
    tools: dict[str, Any] | Unset = UNSET,
    knowledge_base_ids: list[str] | Unset = UNSET,
    is_default: bool | Unset = UNSET,
    enabled: bool | Unset = UNSET,
) -> Agent:
    """Change the fields given; making an agent the default unsets the previous default."""
    values = given(
        agent_key=agent_key,
        display_name=display_name,
        instructions=instructions,
        match_hints=match_hints,
        tools=tools,
        knowledge_base_ids=knowledge_base_ids,
        is_default=is_default,
        enabled=enabled,
    )
    organization = agent.organization
    cleaned = _clean_agent(values, organization=organization, mode=agent.mode, current=agent)
    # The organisation's row lock orders every default change of the business.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    becoming_default = cleaned.get("isDefault") is True and not agent.is_default
    changes = _apply_agent(agent, cleaned)
    previous = _make_only_default(agent) if becoming_default else None
    changes += _set_relations(agent, cleaned, creating=False)
    if changes:
        _save_unique(
            agent,
            taken=lambda: _key_taken(agent.organization, agent.mode, agent.agent_key, agent),
            conflict={"agentKey": [f"An agent with key {agent.agent_key} already exists in this business."]},
        )
        audit_record(
            organization=organization, actor=actor, action="agent.updated", target=agent, metadata={"changes": changes}
        )
    if becoming_default:
        audit_record(
            organization=organization,
            actor=actor,
            action="agent.default_changed",
            target=agent,
            metadata={"previous": previous.public_id if previous else None},
        )
    return agent


@transaction.atomic
def agent_delete(*, agent: Agent, actor: Actor) -> None:
    """Delete an agent with its own data fields."""
    audit_record(
        organization=agent.organization,
        actor=actor,
        action="agent.deleted",
        target=agent,
        metadata={"agentKey": agent.agent_key, "wasDefault": agent.is_default},
    )
    agent.delete()


# ---------------------------------------------------------------------------------------------
# Who greets, and where a sentence goes

BUILT_IN_GREETER = "Built-in AI agent"


@dataclass(frozen=True)
class GreeterStatus:
    """Who answers calls. ``warning`` is set when a configuration probably isn't what was meant."""

    agent: Agent | None  # the default agent, when there is one and it is enabled
    uses_built_in: bool
    message: str
    warning: str | None = None

    @property
    def name(self) -> str:
        return self.agent.display_name if self.agent else BUILT_IN_GREETER


def agents_for(*, organization: Organization, mode: str) -> QuerySet[Agent]:
    """The business's agents of one mode, as a call of that mode sees them (by agent key).

    The one place call-time code (routing, the hand-off, the call simulator) reads agents from, so a
    live call never sees a test definition and a simulated test call never sees a live one."""
    _check_mode(mode)
    return Agent.objects.filter(organization=organization, mode=mode).order_by("agent_key")


def greeter_status(*, organization: Organization, mode: str) -> GreeterStatus:
    """Who greets calls of ``mode``. The documented fallback: without an enabled default agent the
    built-in agent greets every call and hands off to enabled specialists exactly as a default agent would."""
    agents = list(agents_for(organization=organization, mode=mode))
    if not agents:
        return GreeterStatus(None, True, "No agents are defined, so the built-in AI agent handles every call.")
    default = next((a for a in agents if a.is_default), None)
    if default is None:
        return GreeterStatus(
            None,
            True,
            f"{BUILT_IN_GREETER} greets callers and hands off to specialists.",
            warning="No agent is marked as the default greeter, so the built-in AI agent greets "
            "every call and hands off to enabled specialists by their match hints. Make one "
            "agent the default to choose the greeter yourself.",
        )
    if not default.enabled:
        return GreeterStatus(
            None,
            True,
            f"{BUILT_IN_GREETER} greets callers and hands off to specialists.",
            warning=f"The default agent “{default.display_name}” is disabled, so the built-in AI "
            "agent greets every call instead and hands off to enabled specialists. Enable it "
            "or make another agent the default.",
        )
    return GreeterStatus(default, False, f"{default.display_name} greets every call and hands off to specialists.")


def agent_profiles(agents: QuerySet[Agent] | Sequence[Agent]) -> list[routing.AgentProfile]:
    return [
        routing.AgentProfile(
            key=a.agent_key,
            display_name=a.display_name,
            match_hints=tuple(a.match_hints),
            enabled=a.enabled,
            is_default=a.is_default,
        )
        for a in agents
    ]


def route_utterance(*, organization: Organization, mode: str, text: Any) -> routing.RoutingDecision:
    """Which enabled specialist of the business, among the agents of ``mode``, takes a call in which
    the caller said ``text``."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": ["Type what the caller says."]})
    if len(text) > 1000:
        raise ValidationError({"text": ["At most 1,000 characters."]})
    return routing.route(text, agent_profiles(agents_for(organization=organization, mode=mode)))


def agent_tools(agent: Agent) -> list[CustomTool]:
    """The enabled custom tools this agent may call (an empty selection means all of them), always of
    the agent's own mode: a test agent never reaches a live tool, nor a live agent a test one."""
    chosen = list(agent.custom_tools.filter(enabled=True, mode=agent.mode).order_by("name"))
    if chosen or AgentTool.objects.filter(agent=agent).exists():
        return chosen
    return list(
        CustomTool.objects.filter(organization_id=agent.organization_id, mode=agent.mode, enabled=True).order_by("name")
    )


@dataclass
class HandoffTrace:
    """What happened in a simulated call, step by step, for the call simulator and its log."""

    greeter: str
    decision: routing.RoutingDecision
    specialist: Agent | None = None
    tool: CustomTool | None = None
    result: ToolResult | None = None
    steps: list[str] = field(default_factory=list)


def handoff_simulate(
    *,
    organization: Organization,
    utterance: str,
    call_session_id: str,
    mode: str = "test",
    tool_name: str | None = None,
    arguments: dict[str, Any] | None = None,
) -> HandoffTrace:
    """caller → greeter → specialist → tool call, as the call simulator plays it.

    Runs the real router over the agents of ``mode`` and the real invocation of a tool of ``mode``
    (test by default, so it is flagged and never billed, and only test definitions take part).
    Without ``tool_name`` the specialist's first enabled tool is used, with example arguments built
    from its schema. Call it from a worker, never from a web request.
    """
    status = greeter_status(organization=organization, mode=mode)
    decision = route_utterance(organization=organization, mode=mode, text=utterance)
    trace = HandoffTrace(
        greeter=status.name,
        decision=decision,
        steps=[f"Caller: “{utterance}”", f"{status.name} answers.", decision.reason],
    )
    if decision.agent_key is None:
        return trace
    trace.specialist = agents_for(organization=organization, mode=mode).get(agent_key=decision.agent_key)
    trace.steps.append(f"{trace.specialist.display_name} takes the call.")
    tools = agent_tools(trace.specialist)
    if tool_name is not None:
        tools = [t for t in tools if t.name == tool_name]
    if not tools:
        trace.steps.append("No custom tool is available to this agent, so no tool is called.")
        return trace
    trace.tool = tools[0]
    args = arguments if arguments is not None else example_arguments(trace.tool.input_schema)
    trace.result = tool_invoke(
        tool=trace.tool,
        arguments=args,
        call_session_id=call_session_id,
        mode=mode,
        source=ToolInvocation.Source.SIMULATOR,
    )
    outcome = "answered" if trace.result.ok else f"failed ({trace.result.error_code})"
    trace.steps.append(f"{trace.specialist.display_name} calls {trace.tool.name}: {outcome}.")
    return trace


# ---------------------------------------------------------------------------------------------
# Data-collection fields

# Wire name → keyword of data_field_create/data_field_update.
DATA_FIELD_FIELDS = {
    "key": "key",
    "label": "label",
    "type": "type",
    "choices": "choices",
    "required": "required",
    "agentId": "agent_id",
}


def _clean_choices(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise ValidationError({"choices": ["Must be an array of non-empty strings."]})
    choices = list(dict.fromkeys(c.strip() for c in value))
    if not choices:
        raise ValidationError({"choices": ["A choice field needs at least one choice."]})
    if len(choices) > MAX_CHOICES or any(len(c) > MAX_CHOICE_LENGTH for c in choices):
        raise ValidationError({"choices": [f"At most {MAX_CHOICES} choices of {MAX_CHOICE_LENGTH} characters."]})
    return choices


def _clean_field_key(value: Any) -> str:
    if not isinstance(value, str) or not FIELD_KEY_RE.fullmatch(value):
        raise ValidationError(
            {
                "key": [
                    "Use snake_case: lowercase letters, digits and underscores, starting with a "
                    "letter (e.g. invoice_number)."
                ]
            }
        )
    return value


def _clean_field_type(value: Any) -> str:
    types = DataCollectionField.FieldType.values
    if value not in types:
        raise ValidationError({"type": [f"Must be one of: {', '.join(types)}."]})
    return value


def _clean_field_agent(value: Any, organization: Organization, mode: str) -> Agent | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError({"agentId": ["Must be an agent id or null."]})
    agent = Agent.objects.filter(organization=organization, mode=mode, public_id=value).first()
    if agent is None:
        raise ValidationError({"agentId": [f"No agent with id '{value}' exists in this business."]})
    return agent


def _clean_data_field(
    values: dict[str, Any], *, organization: Organization, mode: str, current: DataCollectionField | None
) -> dict[str, Any]:
    """The given keyword values checked; returns them keyed by wire name (as the errors are)."""
    errors = _Errors()
    cleaned: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], Any]] = {
        "key": _clean_field_key,
        "label": lambda v: _required_text({"label": v}, "label", max_length=100, label="label"),
        "type": _clean_field_type,
        "choices": _clean_choices,
        "required": lambda v: _bool({"required": v}, "required"),
        "agentId": lambda v: _clean_field_agent(v, organization, mode),
    }
    for name, check in checks.items():
        if DATA_FIELD_FIELDS[name] in values:
            value = errors.run(name, functools.partial(check, values[DATA_FIELD_FIELDS[name]]))
            if value is not _UNSET:
                cleaned[name] = value
        elif current is None and name in ("key", "label"):
            errors.add(name, "This field is required.")
    if "key" in cleaned and _field_key_taken(organization, mode, cleaned["key"], current):
        errors.add("key", f"A field with key {cleaned['key']} already exists in this business.")
    errors.raise_if_any()
    field_type = cleaned.get("type", current.type if current else DataCollectionField.FieldType.TEXT)
    if field_type == DataCollectionField.FieldType.CHOICE:
        if not cleaned.get("choices", current.choices if current else []):
            raise ValidationError({"choices": ["A choice field needs its choices."]})
    elif cleaned.get("choices"):
        raise ValidationError({"choices": ["Only a choice field has choices."]})
    elif "type" in cleaned:
        cleaned["choices"] = []  # leaving the choice type drops the old choices
    return cleaned


def _field_key_taken(
    organization: Organization, mode: str, key: str, exclude: DataCollectionField | None = None
) -> bool:
    fields = DataCollectionField.objects.filter(organization=organization, mode=mode, key=key)
    return fields.exclude(pk=exclude.pk).exists() if exclude else fields.exists()


@transaction.atomic
def data_field_create(
    *,
    organization: Organization,
    actor: Actor,
    mode: str = Mode.LIVE,
    key: str | Unset = UNSET,
    label: str | Unset = UNSET,
    type: str | Unset = UNSET,
    choices: list[str] | Unset = UNSET,
    required: bool | Unset = UNSET,
    agent_id: str | Unset | None = UNSET,
) -> DataCollectionField:
    """Create a field in ``mode``: key and label are required; agent_id is the public id of an agent
    of the same mode, or None for a field every agent collects."""
    _check_mode(mode)
    values = given(key=key, label=label, type=type, choices=choices, required=required, agent_id=agent_id)
    cleaned = _clean_data_field(values, organization=organization, mode=mode, current=None)
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    fields_in_mode = DataCollectionField.objects.filter(organization=organization, mode=mode)
    if fields_in_mode.count() >= MAX_DATA_FIELDS_PER_ORGANIZATION:
        raise ServiceError(f"A business can have at most {MAX_DATA_FIELDS_PER_ORGANIZATION} data-collection fields.")
    data_field = DataCollectionField(
        organization=organization,
        mode=mode,
        key=cleaned["key"],
        label=cleaned["label"],
        type=cleaned.get("type", DataCollectionField.FieldType.TEXT),
        choices=cleaned.get("choices", []),
        required=cleaned.get("required", False),
        agent=cleaned.get("agentId"),
    )
    _save_unique(
        data_field,
        taken=lambda: _field_key_taken(data_field.organization, data_field.mode, data_field.key, data_field),
        conflict={"key": [f"A field with key {data_field.key} already exists in this business."]},
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="data_field.created",
        target=data_field,
        metadata={"key": data_field.key, "agent": data_field.agent.public_id if data_field.agent else None},
    )
    return data_field


@transaction.atomic
def data_field_update(
    *,
    data_field: DataCollectionField,
    actor: Actor,
    key: str | Unset = UNSET,
    label: str | Unset = UNSET,
    type: str | Unset = UNSET,
    choices: list[str] | Unset = UNSET,
    required: bool | Unset = UNSET,
    agent_id: str | Unset | None = UNSET,
) -> DataCollectionField:
    """Change the fields given; agent_id=None makes the field shared by every agent."""
    values = given(key=key, label=label, type=type, choices=choices, required=required, agent_id=agent_id)
    data_field = (
        DataCollectionField.objects.select_for_update(of=("self",)).select_related("agent").get(pk=data_field.pk)
    )
    cleaned = _clean_data_field(values, organization=data_field.organization, mode=data_field.mode, current=data_field)
    changes = []
    for wire, attr in (
        ("key", "key"),
        ("label", "label"),
        ("type", "type"),
        ("choices", "choices"),
        ("required", "required"),
        ("agentId", "agent"),
    ):
        if wire in cleaned and cleaned[wire] != getattr(data_field, attr):
            setattr(data_field, attr, cleaned[wire])
            changes.append(wire)
    if changes:
        _save_unique(
            data_field,
            taken=lambda: _field_key_taken(data_field.organization, data_field.mode, data_field.key, data_field),
            conflict={"key": [f"A field with key {data_field.key} already exists in this business."]},
        )
        audit_record(
            organization=data_field.organization,
            actor=actor,
            action="data_field.updated",
            target=data_field,
            metadata={"changes": changes},
        )
    return data_field


@transaction.atomic
def data_field_delete(*, data_field: DataCollectionField, actor: Actor) -> None:
    audit_record(
        organization=data_field.organization,
        actor=actor,
        action="data_field.deleted",
        target=data_field,
        metadata={"key": data_field.key},
    )
    data_field.delete()


# ---------------------------------------------------------------------------------------------
# Copy to live: what was built and tried in test mode goes live without retyping.
#
# Each copy goes through the ordinary create service in live mode (same validation, limits and
# audit rows) inside one transaction, plus a "*.copied_to_live" audit row naming the source.
# References are remapped by name: an agent's tools become the live tools with the same names,
# copied first when live has none of that name; a field's agent becomes the live agent with the
# same key, which must already exist (a clear 409 otherwise). A live object with the same name or
# key is never overwritten: the copy is refused with a 409 naming it.


def _copy_source(obj: CustomTool | Agent | DataCollectionField, noun: str) -> None:
    if obj.mode != Mode.TEST:
        raise ServiceError(f"Only a test-mode {noun} can be copied to live; this one is already live.")


def _clash(message: str) -> ServiceError:
    return ServiceError(message, code="CONFLICT", status=409)


def _tool_auth_value(tool: CustomTool) -> dict[str, Any]:
    """The tool's auth as tool_create takes it, with the real secret (it never leaves the server)."""
    auth: dict[str, Any] = {"type": tool.auth_type}
    if tool.auth_type == CustomTool.AuthType.BEARER:
        auth["token"] = tool.auth_secret
    elif tool.auth_type == CustomTool.AuthType.HEADER:
        auth.update(headerName=tool.auth_header_name, value=tool.auth_secret)
    elif tool.auth_type == CustomTool.AuthType.BASIC:
        auth.update(username=tool.auth_username, password=tool.auth_secret)
    return auth


def _copy_tool(tool: CustomTool, actor: Actor) -> CustomTool:
    live = tool_create(
        organization=tool.organization,
        actor=actor,
        mode=Mode.LIVE,
        name=tool.name,
        description=tool.description,
        input_schema=tool.input_schema,
        endpoint_url=tool.endpoint_url,
        auth=_tool_auth_value(tool),
        timeout_seconds=tool.timeout_seconds,
        enabled=tool.enabled,
    )
    audit_record(
        organization=tool.organization,
        actor=actor,
        action="tool.copied_to_live",
        target=live,
        metadata={"from": tool.public_id, "name": tool.name},
    )
    return live


@transaction.atomic
def tool_copy_to_live(*, tool: CustomTool, actor: Actor) -> CustomTool:
    """A live copy of a test tool (credentials included); refused when live has a tool of that name."""
    _copy_source(tool, "tool")
    if _name_taken(tool.organization, Mode.LIVE, tool.name):
        raise _clash(
            f"A live tool named {tool.name} already exists; rename this one or delete the live one, then copy again."
        )
    return _copy_tool(tool, actor)


def _copy_field(data_field: DataCollectionField, actor: Actor, live_agent: Agent | None) -> DataCollectionField:
    live = data_field_create(
        organization=data_field.organization,
        actor=actor,
        mode=Mode.LIVE,
        key=data_field.key,
        label=data_field.label,
        type=data_field.type,
        choices=list(data_field.choices) if data_field.type == DataCollectionField.FieldType.CHOICE else UNSET,
        required=data_field.required,
        agent_id=live_agent.public_id if live_agent else None,
    )
    audit_record(
        organization=data_field.organization,
        actor=actor,
        action="data_field.copied_to_live",
        target=live,
        metadata={"from": data_field.public_id, "key": data_field.key},
    )
    return live


@transaction.atomic
def data_field_copy_to_live(*, data_field: DataCollectionField, actor: Actor) -> DataCollectionField:
    """A live copy of a test field. A field of one agent goes to the live agent with the same key,
    which must exist (copy the agent first); a live field with the same key refuses the copy."""
    _copy_source(data_field, "data-collection field")
    organization = data_field.organization
    if _field_key_taken(organization, Mode.LIVE, data_field.key):
        raise _clash(f"A live field with key {data_field.key} already exists; it was not overwritten.")
    live_agent = None
    if data_field.agent is not None:
        key = data_field.agent.agent_key
        live_agent = Agent.objects.filter(organization=organization, mode=Mode.LIVE, agent_key=key).first()
        if live_agent is None:
            raise _clash(
                f"This field belongs to the agent {key}, which has no live copy yet; copy the agent to live first "
                "(its fields go with it)."
            )
    return _copy_field(data_field, actor, live_agent)


@dataclass(frozen=True)
class AgentCopy:
    """What Copy to live made: the live agent, the tools it had to copy and the fields that went with it."""

    agent: Agent
    copied_tools: list[CustomTool]
    reused_tools: list[CustomTool]
    copied_fields: list[DataCollectionField]


@transaction.atomic
def agent_copy_to_live(*, agent: Agent, actor: Actor) -> AgentCopy:
    """A live copy of a test agent with its own data fields.

    Its tool selection is remapped by name: each test tool maps to the live tool of the same name,
    and is copied to live first when there is none. The copy is never the live default greeter
    (who answers live calls changes only when someone says so); everything else is as in test.
    A live agent with the same key, or a live field with the key of one of its fields, refuses the
    whole copy with a 409 naming it; nothing is half-copied.
    """
    _copy_source(agent, "agent")
    organization = agent.organization
    if _key_taken(organization, Mode.LIVE, agent.agent_key):
        raise _clash(
            f"A live agent with key {agent.agent_key} already exists; rename this one or delete the live one, "
            "then copy again."
        )
    fields = list(agent.data_fields.order_by("created_at", "pk"))
    clashing = [f.key for f in fields if _field_key_taken(organization, Mode.LIVE, f.key)]
    if clashing:
        raise _clash(f"Live fields with the key(s) {', '.join(clashing)} already exist; they were not overwritten.")
    live_tools, copied, reused = [], [], []
    for tool in agent.custom_tools.filter(mode=Mode.TEST).order_by("name"):
        same_name = CustomTool.objects.filter(organization=organization, mode=Mode.LIVE, name=tool.name).first()
        if same_name is None:
            same_name = _copy_tool(tool, actor)
            copied.append(same_name)
        else:
            reused.append(same_name)
        live_tools.append(same_name)
    live = agent_create(
        organization=organization,
        actor=actor,
        mode=Mode.LIVE,
        agent_key=agent.agent_key,
        display_name=agent.display_name,
        instructions=agent.instructions,
        match_hints=list(agent.match_hints),
        tools={
            "useCustomToolIds": [t.public_id for t in live_tools],
            "allowPayments": agent.allow_payments,
            "allowBooking": agent.allow_booking,
            "allowTransfer": agent.allow_transfer,
            "allowKnowledgeSearch": agent.allow_knowledge_search,
        },
        knowledge_base_ids=[kb.public_id for kb in agent.knowledge_bases.all()],
        is_default=False,
        enabled=agent.enabled,
    )
    copied_fields = [_copy_field(f, actor, live) for f in fields]
    audit_record(
        organization=organization,
        actor=actor,
        action="agent.copied_to_live",
        target=live,
        metadata={
            "from": agent.public_id,
            "agentKey": agent.agent_key,
            "toolsCopied": [t.name for t in copied],
            "toolsReused": [t.name for t in reused],
            "fields": [f.key for f in copied_fields],
        },
    )
    return AgentCopy(agent=live, copied_tools=copied, reused_tools=reused, copied_fields=copied_fields)
