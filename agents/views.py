"""Settings → Developer → Custom tools and Agents.

Every change calls the same service as the public API (`agents.services`) with the signed-in user
as the actor. Pages work as plain links and forms; with htmx the same views answer with a named
partial of the page's template (inline schema check, the test result, the routing box, tables).
The Test tool form queues a real test-mode invocation for the tools worker pool and the result
panel polls the invocation until it finishes, so the web process never waits on an endpoint.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from core import rotation
from core.errors import ServiceError
from developer.dashboard import (
    HtmxHttpRequest,
    client_redirect,
    dashboard_view,
    keyset_page,
    no_store,
    page_or_partial,
    require_manager,
    viewing_mode,
)
from phone.models import KnowledgeBase

from . import services
from .invocation import result_from_row
from .models import (
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    Agent,
    CustomTool,
    DataCollectionField,
    ToolInvocation,
)
from .tool_schema import coerce_form_values, form_fields

INVOCATION_PAGE_SIZE = 50
RECENT_INVOCATIONS = 10
EXAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "orderNumber": {"type": "string", "description": "The order number the caller reads out"},
        "zipCode": {"type": "string", "description": "Billing ZIP code, to confirm it is their order"},
    },
    "required": ["orderNumber"],
}


def _tools(request: HtmxHttpRequest) -> QuerySet[CustomTool]:
    """The acting organisation's tools in the mode being viewed ("Viewing test data")."""
    return CustomTool.objects.filter(organization=request.organization, mode=viewing_mode(request))


def _tool_for(request: HtmxHttpRequest, tool_id: str) -> CustomTool:
    """The tool with this public id in the acting organisation and viewed mode, or 404 (another
    business's, or the other mode's: switch "Viewing test data" to reach it)."""
    tool = _tools(request).filter(public_id=tool_id).first()
    if tool is None:
        raise Http404("No such custom tool.")
    return tool


def _agent_for(request: HtmxHttpRequest, agent_id: str) -> Agent:
    agent = Agent.objects.filter(
        organization=request.organization, mode=viewing_mode(request), public_id=agent_id
    ).first()
    if agent is None:
        raise Http404("No such agent.")
    return agent


def _data_field_for(request: HtmxHttpRequest, field_id: str) -> DataCollectionField:
    data_field = (
        DataCollectionField.objects.filter(
            organization=request.organization, mode=viewing_mode(request), public_id=field_id
        )
        .select_related("agent")
        .first()
    )
    if data_field is None:
        raise Http404("No such data-collection field.")
    return data_field


def _invocation_for(request: HtmxHttpRequest, invocation_id: str) -> ToolInvocation:
    """Any invocation of the organisation, whichever mode: the log is read-only, and the Test tool
    button's result panel follows a test-mode call of a live tool while live data is viewed."""
    invocation = (
        ToolInvocation.objects.filter(organization=request.organization, public_id=invocation_id)
        .select_related("tool")
        .first()
    )
    if invocation is None:
        raise Http404("No such invocation.")
    return invocation


# --- tools list and the signing secret -------------------------------------------------------------


def _rotation_choices(overlap: str = rotation.DEFAULT) -> dict[str, Any]:
    """The overlap windows the signing-secret panel offers, with ``overlap`` selected."""
    return {"overlaps": rotation.LABELS, "overlap": overlap}


def _tools_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "tools": list(_tools(request).order_by("name")),
        **_rotation_choices(),
        **extra,
    }
    if request.membership.can_manage:
        context.setdefault("signing_secret", services.signing_secret_for(organization=request.organization))
    return context


@require_GET
@dashboard_view
def tools(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "agents/tools.html", _tools_context(request))


@require_POST
@dashboard_view
def signing_secret(request: HtmxHttpRequest) -> HttpResponse:
    """Reveal or rotate the business's tool-call signing secret (owners and admins, audited)."""
    require_manager(request)
    action = request.POST.get("action")
    if action == "reveal":
        record = services.signing_secret_for(organization=request.organization)
        secret = services.signing_secret_reveal(organization=request.organization, actor=request.user)
        extra = {"signing_secret": record, "revealed_secret": secret, **_rotation_choices()}
    elif action == "rotate":
        overlap = request.POST.get("overlap", rotation.DEFAULT)
        try:
            record, secret = services.signing_secret_rotate(
                organization=request.organization, actor=request.user, overlap=overlap
            )
        except ValidationError:
            return HttpResponse("Choose how long the old secret keeps signing.", status=400)
        extra = {"signing_secret": record, "revealed_secret": secret, "rotated": True, **_rotation_choices(overlap)}
    else:
        return HttpResponse("Unknown action.", status=400)
    if request.htmx:
        response = render(request, "agents/tools.html#signing-secret", extra)
    else:
        response = render(request, "agents/tools.html", _tools_context(request, **extra))
    no_store(response)
    return response


# --- tool editor -----------------------------------------------------------------------------------

_AUTH_INPUTS = ("auth_token", "auth_header_name", "auth_header_value", "auth_username", "auth_password")


def _tool_values(tool: CustomTool | None) -> dict[str, Any]:
    if tool is None:
        return {
            "name": "",
            "description": "",
            "input_schema": json.dumps(EXAMPLE_SCHEMA, indent=2),
            "endpoint_url": "",
            "auth_type": "none",
            "timeout_seconds": str(MAX_TIMEOUT_SECONDS),
            "enabled": True,
            **{name: "" for name in _AUTH_INPUTS},
        }
    return {
        "name": tool.name,
        "description": tool.description,
        "input_schema": json.dumps(tool.input_schema, indent=2),
        "endpoint_url": tool.endpoint_url,
        "auth_type": tool.auth_type,
        "timeout_seconds": str(tool.timeout_seconds),
        "enabled": tool.enabled,
        "auth_header_name": tool.auth_header_name,
        "auth_username": tool.auth_username,
        "auth_token": "",
        "auth_header_value": "",
        "auth_password": "",
    }


def _posted_tool_values(request: HtmxHttpRequest) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: request.POST.get(name, "")
        for name in (
            "name",
            "description",
            "input_schema",
            "endpoint_url",
            "auth_type",
            "timeout_seconds",
            *_AUTH_INPUTS,
        )
    }
    values["enabled"] = request.POST.get("enabled") == "on"
    return values


def _json_problem(subject: str, exc: json.JSONDecodeError) -> str:
    """ "The input schema is not valid JSON: expecting ',' delimiter (line 3, column 5)." (`subject` ends
    with its verb: "The input schema is", "The arguments are".)"""
    return f"{subject} not valid JSON: {exc.msg[:1].lower()}{exc.msg[1:]} (line {exc.lineno}, column {exc.colno})."


def _tool_data(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The form as the tool services' keyword arguments; JSON syntax errors are reported before the service."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {
        "name": values["name"].strip(),
        "description": values["description"],
        "endpoint_url": values["endpoint_url"],
        "enabled": values["enabled"],
    }
    try:
        data["input_schema"] = json.loads(values["input_schema"])
    except json.JSONDecodeError as exc:
        errors["inputSchema"] = [_json_problem("The input schema is", exc)]
    raw_timeout = values["timeout_seconds"].strip()
    data["timeout_seconds"] = int(raw_timeout) if raw_timeout.lstrip("-").isdigit() else raw_timeout
    auth_type = values["auth_type"]
    # A blank secret input keeps the stored secret (the service's rule for an omitted secret).
    secret_inputs = {
        "bearer": ("token", "auth_token"),
        "header": ("value", "auth_header_value"),
        "basic": ("password", "auth_password"),
    }
    auth: dict[str, Any] = {"type": auth_type}
    if auth_type in secret_inputs and values[secret_inputs[auth_type][1]]:
        auth[secret_inputs[auth_type][0]] = values[secret_inputs[auth_type][1]]
    if auth_type == "header":
        auth["headerName"] = values["auth_header_name"].strip()
    if auth_type == "basic":
        auth["username"] = values["auth_username"].strip()
    data["auth"] = auth
    return data, errors


def _with_other_fields_errors(
    request: HtmxHttpRequest,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    current: CustomTool | None,
) -> dict[str, list[str]]:
    """The schema is not JSON, so nothing is saved; still check every other field with the service's own rules,
    so the form lists all its problems at once rather than one per submit."""
    mode = current.mode if current is not None else viewing_mode(request)
    others = services.tool_check(organization=request.organization, mode=mode, current=current, **data)
    return {**others, **errors}  # the JSON error replaces the schema's "required" from a missing schema


def _tool_form_context(
    request: HtmxHttpRequest,
    *,
    tool: CustomTool | None,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    errors = errors or {}
    context: dict[str, Any] = {
        "tool": tool,
        "values": values,
        "errors": errors,
        "auth_types": CustomTool.AuthType.choices,
        "auth_errors": {
            name.removeprefix("auth").lstrip(".") or "type": msgs
            for name, msgs in errors.items()
            if name == "auth" or name.startswith("auth.")
        },
        "timeout_range": range(MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS + 1),
        "schema_problem": None,
    }
    if tool is not None:
        context.update(_test_context(tool))
        context["recent"] = list(
            ToolInvocation.objects.filter(tool=tool).order_by("-created_at", "-public_id")[:RECENT_INVOCATIONS]
        )
        context["agents_using"] = list(tool.agents.order_by("agent_key"))
    return context


def _test_context(
    tool: CustomTool, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    """The Test tool form: one (field, value, error) row per schema property, required ones
    pre-filled with an example so a first test is one click."""
    fields = form_fields(tool.input_schema)
    if values is None:
        required = set(tool.input_schema.get("required") or [])
        values = {f.name: f.example for f in fields if f.name in required}
    errors = errors or {}
    return {"test_rows": [(f, values.get(f.name, ""), errors.get(f.name, "")) for f in fields], "test_errors": errors}


def _schema_field_errors(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Errors inside the schema ("inputSchema.properties.x.type") as (path, message) pairs."""
    return [
        (name.removeprefix("inputSchema.").removeprefix("inputSchema"), message)
        for name, messages_ in errors.items()
        if name.startswith("inputSchema")
        for message in messages_
    ]


def _render_tool_form(
    request: HtmxHttpRequest,
    *,
    tool: CustomTool | None,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    status: int,
) -> HttpResponse:
    context = _tool_form_context(request, tool=tool, values=values, errors=errors)
    context["schema_errors"] = _schema_field_errors(errors)
    return render(request, "agents/tool_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@dashboard_view
def tool_create(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    if request.method == "GET":
        context = _tool_form_context(request, tool=None, values=_tool_values(None))
        return render(request, "agents/tool_form.html", context)
    values = _posted_tool_values(request)
    data, errors = _tool_data(values)
    if errors:
        errors = _with_other_fields_errors(request, data, errors, current=None)
        return _render_tool_form(request, tool=None, values=values, errors=errors, status=400)
    try:
        tool = services.tool_create(
            organization=request.organization, actor=request.user, mode=viewing_mode(request), **data
        )
    except ValidationError as exc:
        return _render_tool_form(request, tool=None, values=values, errors=exc.message_dict, status=400)
    except ServiceError as exc:
        return _render_tool_form(request, tool=None, values=values, errors={"form": [exc.message]}, status=exc.status)
    messages.success(request, f"Created the tool {tool.name}. Try it with the test form below.")
    return client_redirect(request, reverse("agents:tool_edit", args=[tool.public_id]))


@require_http_methods(["GET", "POST"])
@dashboard_view
def tool_edit(request: HtmxHttpRequest, tool_id: str) -> HttpResponse:
    tool = _tool_for(request, tool_id)
    if request.method == "GET":
        context = _tool_form_context(request, tool=tool, values=_tool_values(tool))
        return render(request, "agents/tool_form.html", context)
    require_manager(request)
    values = _posted_tool_values(request)
    data, errors = _tool_data(values)
    if errors:
        errors = _with_other_fields_errors(request, data, errors, current=tool)
        return _render_tool_form(request, tool=tool, values=values, errors=errors, status=400)
    try:
        tool = services.tool_update(tool=tool, actor=request.user, **data)
    except ValidationError as exc:
        return _render_tool_form(request, tool=tool, values=values, errors=exc.message_dict, status=400)
    messages.success(request, f"Saved the tool {tool.name}.")
    return client_redirect(request, reverse("agents:tool_edit", args=[tool.public_id]))


@require_POST
@dashboard_view
def schema_check(request: HtmxHttpRequest) -> HttpResponse:
    """Inline validation of the schema textarea as the user types (the same check the save runs)."""
    raw = request.POST.get("input_schema", "")
    context: dict[str, Any] = {"schema_errors": [], "schema_ok": None}
    try:
        schema = json.loads(raw)
    except json.JSONDecodeError as exc:
        context["schema_errors"] = [("", _json_problem("The input schema is", exc))]
    else:
        try:
            services.tool_schema_check(schema)
        except ValidationError as exc:
            context["schema_errors"] = _schema_field_errors(exc.message_dict)
        else:
            context["schema_ok"] = form_fields(schema)
    return render(request, "agents/tool_form.html#schema-feedback", context)


@require_POST
@dashboard_view
def tool_test(request: HtmxHttpRequest, tool_id: str) -> HttpResponse:
    """Make a real test-mode call with the form's arguments; the result panel follows it."""
    require_manager(request)
    tool = _tool_for(request, tool_id)
    raw_json = request.POST.get("arguments_json", "").strip()
    if raw_json:
        try:
            arguments: Any = json.loads(raw_json)
            errors: dict[str, str] = {}
        except json.JSONDecodeError as exc:
            arguments, errors = None, {"arguments_json": _json_problem("The arguments are", exc)}
    else:
        arguments, errors = coerce_form_values(tool.input_schema, request.POST)
    if errors:
        values = {name: request.POST.get(name, "") for name in request.POST}
        context = {"tool": tool, **_test_context(tool, values, errors)}
        if request.htmx:
            # The form posts into the result panel; a form with errors replaces the form instead.
            response = render(request, "agents/tool_form.html#test-form", context, status=400)
            return retarget(reswap(response, "outerHTML"), "#test-form")
        messages.error(request, "Check the test arguments: " + "; ".join(errors.values()))
        return redirect("agents:tool_edit", tool_id=tool.public_id)
    invocation = services.tool_test_invoke(tool=tool, arguments=arguments, actor=request.user)
    if request.htmx:
        invocation.refresh_from_db()
        return render(request, "agents/invocation_detail.html#test-result", _invocation_context(invocation))
    return redirect("agents:invocation_detail", invocation_id=invocation.public_id)


@require_http_methods(["GET", "POST"])
@dashboard_view
def tool_delete(request: HtmxHttpRequest, tool_id: str) -> HttpResponse:
    require_manager(request)
    tool = _tool_for(request, tool_id)
    if request.method == "GET":
        return render(request, "agents/confirm_delete.html", {"tool": tool})
    try:
        services.tool_delete(tool=tool, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return client_redirect(request, reverse("agents:tool_edit", args=[tool.public_id]))
    messages.success(request, f"Deleted the tool {tool.name}.")
    return client_redirect(request, reverse("agents:tools"))


# --- invocation log --------------------------------------------------------------------------------


def _invocation_filters(request: HtmxHttpRequest) -> dict[str, str]:
    # The mode is the "Viewing test data" switch's, not a filter of its own.
    filters = {name: request.GET.get(name, "") for name in ("tool", "status", "source")}
    if filters["status"] not in ToolInvocation.Status.values:
        filters["status"] = ""
    if filters["source"] not in ToolInvocation.Source.values:
        filters["source"] = ""
    return filters


def _filtered_invocations(request: HtmxHttpRequest, filters: dict[str, str]) -> QuerySet[ToolInvocation]:
    rows = ToolInvocation.objects.filter(organization=request.organization, mode=viewing_mode(request))
    rows = rows.select_related("tool")
    if filters["tool"]:
        rows = rows.filter(tool__public_id=filters["tool"])
    for name in ("status", "source"):
        if filters[name]:
            rows = rows.filter(**{name: filters[name]})
    return rows


@require_GET
@dashboard_view
def invocations(request: HtmxHttpRequest) -> HttpResponse:
    filters = _invocation_filters(request)
    page = keyset_page(
        _filtered_invocations(request, filters), cursor=request.GET.get("cursor"), limit=INVOCATION_PAGE_SIZE
    )
    active = {k: v for k, v in filters.items() if v}
    context = {
        "page": page,
        "filters": filters,
        "filters_active": bool(active),
        "filter_query": urlencode(active),
        "tools": _tools(request).order_by("name"),
        "statuses": ToolInvocation.Status.choices,
        "sources": ToolInvocation.Source.choices,
    }
    if request.htmx and request.htmx.target == "invocation-table":
        return render(request, "agents/invocations.html#invocation-table", context)
    return render(request, "agents/invocations.html", context)


def _invocation_context(invocation: ToolInvocation) -> dict[str, Any]:
    result = result_from_row(invocation)
    return {
        "invocation": invocation,
        "ai_message": json.dumps(result.for_ai(), indent=2, ensure_ascii=False) if result else None,
        "request_headers": json.dumps(invocation.request_headers, indent=2, ensure_ascii=False),
        "arguments": json.dumps(invocation.arguments, indent=2, ensure_ascii=False),
        "request_body": _pretty(invocation.request_body),
        "response_body": _pretty(invocation.response_excerpt),
    }


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@require_GET
@dashboard_view
def invocation_detail(request: HtmxHttpRequest, invocation_id: str) -> HttpResponse:
    invocation = _invocation_for(request, invocation_id)
    context = _invocation_context(invocation)
    if request.htmx and request.htmx.target == "test-result":
        return render(request, "agents/invocation_detail.html#test-result", context)
    return render(request, "agents/invocation_detail.html", context)


# --- agents ----------------------------------------------------------------------------------------


def _agents_queryset(request: HtmxHttpRequest) -> QuerySet[Agent]:
    return (
        Agent.objects.filter(organization=request.organization, mode=viewing_mode(request))
        .prefetch_related(
            Prefetch("custom_tools", queryset=CustomTool.objects.order_by("name")),
            Prefetch("knowledge_bases", queryset=KnowledgeBase.objects.order_by("name")),
        )
        .order_by("-is_default", "display_name")
    )


def _fields_context(request: HtmxHttpRequest, agent: Agent | None, **extra: Any) -> dict[str, Any]:
    fields = DataCollectionField.objects.filter(
        organization=request.organization, mode=viewing_mode(request), agent=agent
    ).order_by("created_at")
    return {
        "field_agent": agent,
        "data_fields": list(fields),
        "field_types": DataCollectionField.FieldType.choices,
        "field_values": extra.pop("field_values", {"type": "text"}),
        "field_errors": extra.pop("field_errors", {}),
        **extra,
    }


def _agents_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "agents": list(_agents_queryset(request)),
        "greeter": services.greeter_status(organization=request.organization, mode=viewing_mode(request)),
        **_fields_context(request, None),
        **extra,
    }


@require_GET
@dashboard_view
def agents(request: HtmxHttpRequest) -> HttpResponse:
    context = _agents_context(request)
    if request.htmx and request.htmx.target == "agent-table":
        return render(request, "agents/agents.html#agent-table", context)
    return render(request, "agents/agents.html", context)


def _agent_values(agent: Agent | None) -> dict[str, Any]:
    if agent is None:
        return {
            "agent_key": "",
            "display_name": "",
            "instructions": "",
            "hints": [],
            "new_hint": "",
            "tools_mode": "all",
            "tool_ids": [],
            "kb_mode": "all",
            "kb_ids": [],
            "allow_payments": False,
            "allow_booking": False,
            "allow_transfer": False,
            "allow_knowledge_search": True,
            "is_default": False,
            "enabled": True,
        }
    tool_ids = [t.public_id for t in agent.custom_tools.all()]
    kb_ids = [kb.public_id for kb in agent.knowledge_bases.all()]
    return {
        "agent_key": agent.agent_key,
        "display_name": agent.display_name,
        "instructions": agent.instructions,
        "hints": list(agent.match_hints),
        "new_hint": "",
        "tools_mode": "selected" if tool_ids else "all",
        "tool_ids": tool_ids,
        "kb_mode": "selected" if kb_ids else "all",
        "kb_ids": kb_ids,
        "allow_payments": agent.allow_payments,
        "allow_booking": agent.allow_booking,
        "allow_transfer": agent.allow_transfer,
        "allow_knowledge_search": agent.allow_knowledge_search,
        "is_default": agent.is_default,
        "enabled": agent.enabled,
    }


def _split_hints(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _posted_agent_values(request: HtmxHttpRequest) -> dict[str, Any]:
    post = request.POST
    values: dict[str, Any] = {
        name: post.get(name, "") for name in ("agent_key", "display_name", "instructions", "new_hint")
    }
    values["hints"] = post.getlist("hints")
    values["tools_mode"] = "selected" if post.get("tools_mode") == "selected" else "all"
    values["kb_mode"] = "selected" if post.get("kb_mode") == "selected" else "all"
    values["tool_ids"], values["kb_ids"] = post.getlist("tool_ids"), post.getlist("kb_ids")
    for flag in (
        "allow_payments",
        "allow_booking",
        "allow_transfer",
        "allow_knowledge_search",
        "is_default",
        "enabled",
    ):
        values[flag] = post.get(flag) == "on"
    return values


def _agent_data(values: dict[str, Any]) -> dict[str, Any]:
    # Whatever is still typed in the "add a hint" box is saved too, rather than silently lost.
    hints = [*values["hints"], *_split_hints(values["new_hint"])]
    return {
        "agent_key": values["agent_key"].strip(),
        "display_name": values["display_name"],
        "instructions": values["instructions"],
        "match_hints": hints,
        "tools": {
            "useCustomToolIds": values["tool_ids"] if values["tools_mode"] == "selected" else [],
            "allowPayments": values["allow_payments"],
            "allowBooking": values["allow_booking"],
            "allowTransfer": values["allow_transfer"],
            "allowKnowledgeSearch": values["allow_knowledge_search"],
        },
        "knowledge_base_ids": values["kb_ids"] if values["kb_mode"] == "selected" else [],
        "is_default": values["is_default"],
        "enabled": values["enabled"],
    }


def _agent_form_context(
    request: HtmxHttpRequest, *, agent: Agent | None, values: dict[str, Any], errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    errors = errors or {}
    mode = agent.mode if agent else viewing_mode(request)
    other_defaults = Agent.objects.filter(organization=request.organization, mode=mode, is_default=True)
    if agent:
        other_defaults = other_defaults.exclude(pk=agent.pk)
    context = {
        "agent": agent,
        "values": values,
        "errors": errors,
        "hint_errors": [m for name, msgs in errors.items() if name.startswith("matchHints") for m in msgs],
        "tool_errors": [m for name, msgs in errors.items() if name.startswith("tools.useCustomToolIds") for m in msgs],
        "kb_errors": [m for name, msgs in errors.items() if name.startswith("knowledgeBaseIds") for m in msgs],
        # Pickers list only this business's own tools (of the agent's mode) and knowledge bases.
        "all_tools": CustomTool.objects.filter(organization=request.organization, mode=mode).order_by("name"),
        "all_kbs": KnowledgeBase.objects.filter(organization=request.organization)
        .annotate(document_count=Count("documents"))
        .order_by("name"),
        "other_default": other_defaults.first(),
    }
    if agent is not None:
        context.update(_fields_context(request, agent))
    return context


def _agent_form(request: HtmxHttpRequest, agent: Agent | None) -> HttpResponse:
    """GET shows the form; POST adds/removes a hint chip (re-render, nothing saved) or saves."""
    if request.method == "GET":
        return render(
            request, "agents/agent_form.html", _agent_form_context(request, agent=agent, values=_agent_values(agent))
        )
    require_manager(request)
    values = _posted_agent_values(request)
    if "add_hint" in request.POST or "remove_hint" in request.POST:
        if "add_hint" in request.POST:
            values["hints"] = [*values["hints"], *_split_hints(values["new_hint"])]
            values["new_hint"] = ""
        else:
            values["hints"] = [h for h in values["hints"] if h != request.POST["remove_hint"]]
        errors: dict[str, list[str]] = {}
        try:
            values["hints"] = services.clean_match_hints(values["hints"])
        except ValidationError as exc:
            errors = exc.message_dict
        template = page_or_partial(request, "agents/agent_form.html", "hint-chips")
        return render(
            request,
            template,
            _agent_form_context(request, agent=agent, values=values, errors=errors),
            status=400 if errors else 200,
        )
    data = _agent_data(values)
    try:
        if agent is None:
            agent = services.agent_create(
                organization=request.organization, actor=request.user, mode=viewing_mode(request), **data
            )
            messages.success(request, f"Created the agent {agent.display_name}.")
        else:
            agent = services.agent_update(agent=agent, actor=request.user, **data)
            messages.success(request, f"Saved the agent {agent.display_name}.")
    except ValidationError as exc:
        values["hints"], values["new_hint"] = data["match_hints"], ""
        return render(
            request,
            "agents/agent_form.html",
            _agent_form_context(request, agent=agent, values=values, errors=exc.message_dict),
            status=400,
        )
    except ServiceError as exc:
        return render(
            request,
            "agents/agent_form.html",
            _agent_form_context(request, agent=agent, values=values, errors={"form": [exc.message]}),
            status=exc.status,
        )
    return client_redirect(request, reverse("agents:agents"))


@require_http_methods(["GET", "POST"])
@dashboard_view
def agent_create(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    return _agent_form(request, None)


@require_http_methods(["GET", "POST"])
@dashboard_view
def agent_edit(request: HtmxHttpRequest, agent_id: str) -> HttpResponse:
    return _agent_form(request, _agent_for(request, agent_id))


_TOGGLES: dict[str, tuple[dict[str, Any], str]] = {
    "enable": ({"enabled": True}, "{name} is enabled."),
    "disable": ({"enabled": False}, "{name} is disabled."),
    "make_default": ({"is_default": True}, "{name} is now the default greeter."),
    "unset_default": ({"is_default": False}, "{name} is no longer the default greeter."),
}


@require_POST
@dashboard_view
def agent_toggle(request: HtmxHttpRequest, agent_id: str) -> HttpResponse:
    """Enable/disable an agent or make it (or stop it being) the default greeter, from the list."""
    require_manager(request)
    agent = _agent_for(request, agent_id)
    action = request.POST.get("action", "")
    if action not in _TOGGLES:
        return HttpResponse("Unknown action.", status=400)
    change, note = _TOGGLES[action]
    agent = services.agent_update(agent=agent, actor=request.user, **change)
    if request.htmx:
        return render(
            request,
            "agents/agents.html#agent-table",
            _agents_context(request, notice=note.format(name=agent.display_name)),
        )
    messages.success(request, note.format(name=agent.display_name))
    return redirect("agents:agents")


@require_http_methods(["GET", "POST"])
@dashboard_view
def agent_delete(request: HtmxHttpRequest, agent_id: str) -> HttpResponse:
    require_manager(request)
    agent = _agent_for(request, agent_id)
    if request.method == "GET":
        return render(request, "agents/confirm_delete.html", {"agent": agent, "field_count": agent.data_fields.count()})
    services.agent_delete(agent=agent, actor=request.user)
    messages.success(request, f"Deleted the agent {agent.display_name}.")
    return client_redirect(request, reverse("agents:agents"))


@require_POST
@dashboard_view
def try_routing(request: HtmxHttpRequest) -> HttpResponse:
    """Type what a caller says; see which agent takes the call and why (read-only, any member)."""
    text = request.POST.get("text", "")
    context: dict[str, Any] = {
        "route_text": text,
        "greeter": services.greeter_status(organization=request.organization, mode=viewing_mode(request)),
    }
    status = 200
    try:
        context["decision"] = services.route_utterance(
            organization=request.organization, mode=viewing_mode(request), text=text
        )
    except ValidationError as exc:
        context["route_error"] = exc.message_dict.get("text", ["Type what the caller says."])[0]
        status = 400
    if request.htmx:
        return render(request, "agents/agents.html#routing-result", context, status=status)
    return render(request, "agents/agents.html", _agents_context(request, **context), status=status)


# --- data-collection fields --------------------------------------------------------------------------


def _back_to(request: HtmxHttpRequest, agent: Agent | None) -> str:
    default = reverse("agents:agent_edit", args=[agent.public_id]) if agent else reverse("agents:agents")
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return nxt
    return default


@require_POST
@dashboard_view
def data_field_create(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    agent_id = request.POST.get("agent", "")
    agent = _agent_for(request, agent_id) if agent_id else None
    values: dict[str, Any] = {name: request.POST.get(name, "") for name in ("key", "label", "type", "choices")}
    values["required"] = request.POST.get("required") == "on"
    data: dict[str, Any] = {
        "key": values["key"].strip(),
        "label": values["label"],
        "type": values["type"],
        "required": values["required"],
        "agent_id": agent.public_id if agent else None,
    }
    if values["type"] == DataCollectionField.FieldType.CHOICE or values["choices"].strip():
        data["choices"] = _split_hints(values["choices"])
    try:
        data_field = services.data_field_create(
            organization=request.organization, actor=request.user, mode=viewing_mode(request), **data
        )
    except (ValidationError, ServiceError) as exc:
        errors = exc.message_dict if isinstance(exc, ValidationError) else {"form": [exc.message]}
        if request.htmx:
            return render(
                request,
                "agents/agents.html#data-fields",
                _fields_context(request, agent, field_values=values, field_errors=errors),
                status=400,
            )
        messages.error(request, "Could not add the field: " + " ".join(m for ms in errors.values() for m in ms))
        return redirect(_back_to(request, agent))
    note = f"Added the field {data_field.label}."
    if request.htmx:
        return render(request, "agents/agents.html#data-fields", _fields_context(request, agent, field_notice=note))
    messages.success(request, note)
    return redirect(_back_to(request, agent))


@require_POST
@dashboard_view
def data_field_delete(request: HtmxHttpRequest, field_id: str) -> HttpResponse:
    require_manager(request)
    data_field = _data_field_for(request, field_id)
    agent = data_field.agent
    services.data_field_delete(data_field=data_field, actor=request.user)
    note = f"Deleted the field {data_field.label}."
    if request.htmx:
        return render(request, "agents/agents.html#data-fields", _fields_context(request, agent, field_notice=note))
    messages.success(request, note)
    return redirect(_back_to(request, agent))


# --- Copy to live ------------------------------------------------------------------------------------
# A test-mode definition goes live without retyping (owners and admins; audited by the services).
# The copy is live data, so the page stays on the test object and says where the copy is.

_LIVE_HINT = "Turn off “Viewing test data” to see it."


def _copy_problem(exc: ServiceError | ValidationError) -> str:
    """A refusal in words: a clash or limit (ServiceError), or what the live create found wrong (for example a
    name taken by a concurrent request, or a live limit reached)."""
    if isinstance(exc, ServiceError):
        return exc.message
    return " ".join(f"{name}: {message}" for name, messages_ in exc.message_dict.items() for message in messages_)


@require_POST
@dashboard_view
def tool_copy_to_live(request: HtmxHttpRequest, tool_id: str) -> HttpResponse:
    require_manager(request)
    tool = _tool_for(request, tool_id)
    try:
        services.tool_copy_to_live(tool=tool, actor=request.user)
    except (ServiceError, ValidationError) as exc:
        messages.error(request, f"Could not copy {tool.name} to live: {_copy_problem(exc)}")
    else:
        messages.success(request, f"Copied the tool {tool.name} to live. {_LIVE_HINT}")
    return client_redirect(request, reverse("agents:tool_edit", args=[tool.public_id]))


@require_POST
@dashboard_view
def agent_copy_to_live(request: HtmxHttpRequest, agent_id: str) -> HttpResponse:
    require_manager(request)
    agent = _agent_for(request, agent_id)
    try:
        copy = services.agent_copy_to_live(agent=agent, actor=request.user)
    except (ServiceError, ValidationError) as exc:
        messages.error(request, f"Could not copy {agent.display_name} to live: {_copy_problem(exc)}")
    else:
        parts = [f"Copied the agent {agent.display_name} to live"]
        if copy.copied_tools:
            parts.append(f"with its tools {', '.join(t.name for t in copy.copied_tools)} (copied too)")
        if copy.reused_tools:
            parts.append(f"using the live tools {', '.join(t.name for t in copy.reused_tools)}")
        if copy.copied_fields:
            parts.append(f"and its fields {', '.join(f.key for f in copy.copied_fields)}")
        messages.success(request, " ".join(parts) + f". It is not the live default greeter. {_LIVE_HINT}")
    return client_redirect(request, reverse("agents:agents"))


@require_POST
@dashboard_view
def data_field_copy_to_live(request: HtmxHttpRequest, field_id: str) -> HttpResponse:
    require_manager(request)
    data_field = _data_field_for(request, field_id)
    try:
        services.data_field_copy_to_live(data_field=data_field, actor=request.user)
    except (ServiceError, ValidationError) as exc:
        messages.error(request, f"Could not copy the field {data_field.key} to live: {_copy_problem(exc)}")
    else:
        messages.success(request, f"Copied the field {data_field.key} to live. {_LIVE_HINT}")
    return client_redirect(request, _back_to(request, data_field.agent))
