"""Public API: custom tools (manage:tools), agents and data-collection fields (manage:agents)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from developer.models import ApiKey
from developer.public_api.base import PublicApiView, body_kwargs, json_body, ok
from developer.public_api.exceptions import ValidationFailed
from developer.public_api.openapi import LIST_PARAMETERS
from developer.public_api.requests import ApiRequest
from phone.models import KnowledgeBase

from . import services
from .models import Agent, CustomTool, DataCollectionField
from .payloads import agent_json, data_field_json, tool_json

# --- OpenAPI: the documented shapes of the JSON above and of the request bodies ---------------------


class ToolAuthSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=CustomTool.AuthType.choices)
    token = serializers.CharField(required=False, help_text="bearer: the token (responses: masked, `••••abcd`).")
    headerName = serializers.CharField(required=False, help_text="header: the header to send, e.g. X-Api-Key.")
    value = serializers.CharField(required=False, help_text="header: its value (responses: masked).")
    username = serializers.CharField(required=False, help_text="basic: the user name.")
    password = serializers.CharField(required=False, help_text="basic: the password (responses: masked).")


class ToolSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque id, `tool_…`.")
    name = serializers.CharField(
        help_text="snake_case, unique per business and mode (test and live keys see their own)."
    )
    description = serializers.CharField()
    inputSchema = serializers.JSONField(help_text="A JSON Schema describing an object.")
    endpointUrl = serializers.URLField()
    auth = ToolAuthSerializer()
    timeoutSeconds = serializers.IntegerField(min_value=1, max_value=10)
    enabled = serializers.BooleanField()
    lastInvokedAt = serializers.DateTimeField(allow_null=True)
    lastInvocationStatus = serializers.ChoiceField(
        choices=["succeeded", "failed", "rejected", "refused"], allow_null=True
    )
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class ToolWriteSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z][a-z0-9_]{0,63}$")
    description = serializers.CharField(max_length=1024)
    inputSchema = serializers.JSONField(help_text='A JSON Schema with `"type": "object"` at the top.')
    endpointUrl = serializers.URLField(help_text="A public https URL.")
    auth = ToolAuthSerializer(required=False, help_text="Default none. Secrets left out on PATCH are kept.")
    timeoutSeconds = serializers.IntegerField(min_value=1, max_value=10, required=False, default=10)
    enabled = serializers.BooleanField(required=False, default=True)


class AgentToolsSerializer(serializers.Serializer):
    useCustomToolIds = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Tools of the key's mode. Empty: the agent may use all of the business's custom tools of its mode.",
    )
    allowPayments = serializers.BooleanField(required=False, default=False)
    allowBooking = serializers.BooleanField(required=False, default=False)
    allowTransfer = serializers.BooleanField(required=False, default=False)
    allowKnowledgeSearch = serializers.BooleanField(required=False, default=True)


class AgentWriteSerializer(serializers.Serializer):
    agentKey = serializers.RegexField(
        r"^[a-z][a-z0-9_-]{0,39}$", help_text="Lowercase id, unique per business and mode."
    )
    displayName = serializers.CharField(max_length=100)
    instructions = serializers.CharField(max_length=8000, help_text="The specialist's focused role.")
    matchHints = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="Caller-intent phrases the greeter routes on.",
    )
    tools = AgentToolsSerializer(required=False)
    knowledgeBaseIds = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="RAG scope; empty: all business knowledge."
    )
    isDefault = serializers.BooleanField(
        required=False, default=False, help_text="The greeter; making one default unsets the previous one."
    )
    enabled = serializers.BooleanField(required=False, default=True)


class AgentSerializer(AgentWriteSerializer):
    id = serializers.CharField(help_text="Opaque id, `agt_…`.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class DataFieldWriteSerializer(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{0,63}$", help_text="snake_case, unique per business and mode.")
    # `label` and `required` are wire names shadowing Field attributes; SerializerMetaclass pops
    # declared fields off the class, so only the type checker sees the clash.
    label = serializers.CharField(max_length=100)  # type: ignore[assignment]
    type = serializers.ChoiceField(choices=DataCollectionField.FieldType.choices, required=False, default="text")
    choices = serializers.ListField(child=serializers.CharField(), required=False, help_text="For type choice.")
    required = serializers.BooleanField(required=False, default=False)  # type: ignore[assignment]
    agentId = serializers.CharField(
        required=False, allow_null=True, help_text="Ties the field to one specialist; null: every agent collects it."
    )


class DataFieldSerializer(DataFieldWriteSerializer):
    id = serializers.CharField(help_text="Opaque id, `fld_…`.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class DeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    deleted = serializers.BooleanField()


def _refusal(fields: dict[str, str]) -> str:
    return f"Unknown field. Allowed: {', '.join(fields)}."


def _tool_kwargs(request: ApiRequest) -> dict[str, Any]:
    return body_kwargs(json_body(request), services.TOOL_FIELDS, refusal=_refusal(services.TOOL_FIELDS))


def _agent_kwargs(request: ApiRequest) -> dict[str, Any]:
    return body_kwargs(json_body(request), services.AGENT_FIELDS, refusal=_refusal(services.AGENT_FIELDS))


def _data_field_kwargs(request: ApiRequest) -> dict[str, Any]:
    return body_kwargs(json_body(request), services.DATA_FIELD_FIELDS, refusal=_refusal(services.DATA_FIELD_FIELDS))


class _ManageView(PublicApiView):
    def acting_key(self) -> ApiKey:
        return ApiKey.objects.select_related("organization").get(pk=self.request.auth.id)

    @property
    def mode(self) -> str:
        return self.request.auth.mode

    def mode_queryset(self, model: type[Model]) -> QuerySet:
        """The caller's organisation and the key's mode: the other mode's ids are a 404 like another business's."""
        return self.org_queryset(model).filter(mode=self.mode)


# --- tools ---------------------------------------------------------------------------------------


class _ToolView(_ManageView):
    required_scope = "manage:tools"

    def tool_for(self, tool_id: str) -> CustomTool:
        return self.get_owned(self.mode_queryset(CustomTool).select_related("organization"), tool_id, "custom tool")


class ToolListCreate(_ToolView):
    @extend_schema(
        operation_id="listTools",
        summary="List custom tools",
        parameters=LIST_PARAMETERS,
        responses=ToolSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        return self.paginate(self.mode_queryset(CustomTool), tool_json)

    @extend_schema(
        operation_id="createTool",
        summary="Register a custom tool",
        request=ToolWriteSerializer,
        responses={201: ToolSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        key = self.acting_key()
        tool = services.tool_create(organization=key.organization, actor=key, mode=key.mode, **_tool_kwargs(request))
        return ok(tool_json(tool), "Custom tool created.", status=201)


class ToolDetail(_ToolView):
    @extend_schema(operation_id="getTool", summary="One custom tool", responses=ToolSerializer)
    def get(self, request: ApiRequest, tool_id: str) -> Response:
        return ok(tool_json(self.tool_for(tool_id)))

    @extend_schema(
        operation_id="updateTool",
        summary="Change a custom tool",
        request=ToolWriteSerializer(partial=True),
        responses=ToolSerializer,
    )
    def patch(self, request: ApiRequest, tool_id: str) -> Response:
        tool = services.tool_update(tool=self.tool_for(tool_id), actor=self.acting_key(), **_tool_kwargs(request))
        return ok(tool_json(tool), "Custom tool updated.")

    @extend_schema(operation_id="deleteTool", summary="Delete a custom tool", responses=DeletedSerializer)
    def delete(self, request: ApiRequest, tool_id: str) -> Response:
        tool = self.tool_for(tool_id)
        public_id = tool.public_id
        services.tool_delete(tool=tool, actor=self.acting_key())
        return ok({"id": public_id, "deleted": True}, "Custom tool deleted.")


# --- agents --------------------------------------------------------------------------------------


class _AgentView(_ManageView):
    required_scope = "manage:agents"

    def agents(self) -> QuerySet[Agent]:
        return (
            self.mode_queryset(Agent)
            .select_related("organization")
            .prefetch_related(
                Prefetch("custom_tools", queryset=CustomTool.objects.order_by("name")),
                Prefetch("knowledge_bases", queryset=KnowledgeBase.objects.order_by("name")),
            )
        )

    def agent_for(self, agent_id: str) -> Agent:
        return self.get_owned(self.agents(), agent_id, "agent")

    def greeter_message(self, base: str) -> str:
        status = services.greeter_status(organization=self.acting_key().organization, mode=self.mode)
        return f"{base} {status.warning}" if status.warning else base


class AgentListCreate(_AgentView):
    @extend_schema(
        operation_id="listAgents",
        summary="List AI agents (the message states who greets calls)",
        parameters=LIST_PARAMETERS,
        responses=AgentSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        response = self.paginate(self.agents(), agent_json)
        status = services.greeter_status(organization=self.acting_key().organization, mode=self.mode)
        # The greeter fallback is stated on every list so an integration notices a missing default.
        response.message = status.warning or status.message
        return response

    @extend_schema(
        operation_id="createAgent",
        summary="Create an AI agent",
        request=AgentWriteSerializer,
        responses={201: AgentSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        key = self.acting_key()
        agent = services.agent_create(organization=key.organization, actor=key, mode=key.mode, **_agent_kwargs(request))
        return ok(agent_json(self.agent_for(agent.public_id)), self.greeter_message("Agent created."), status=201)


class AgentDetail(_AgentView):
    @extend_schema(operation_id="getAgent", summary="One AI agent", responses=AgentSerializer)
    def get(self, request: ApiRequest, agent_id: str) -> Response:
        return ok(agent_json(self.agent_for(agent_id)), self.greeter_message("OK"))

    @extend_schema(
        operation_id="updateAgent",
        summary="Change an AI agent",
        request=AgentWriteSerializer(partial=True),
        responses=AgentSerializer,
    )
    def patch(self, request: ApiRequest, agent_id: str) -> Response:
        agent = services.agent_update(agent=self.agent_for(agent_id), actor=self.acting_key(), **_agent_kwargs(request))
        return ok(agent_json(self.agent_for(agent.public_id)), self.greeter_message("Agent updated."))

    @extend_schema(
        operation_id="deleteAgent", summary="Delete an AI agent and its own data fields", responses=DeletedSerializer
    )
    def delete(self, request: ApiRequest, agent_id: str) -> Response:
        agent = self.agent_for(agent_id)
        public_id = agent.public_id
        services.agent_delete(agent=agent, actor=self.acting_key())
        return ok({"id": public_id, "deleted": True}, self.greeter_message("Agent deleted."))


# --- data-collection fields ---------------------------------------------------------------------


class _DataFieldView(_ManageView):
    required_scope = "manage:agents"

    def fields(self) -> QuerySet[DataCollectionField]:
        return self.mode_queryset(DataCollectionField).select_related("agent", "organization")

    def field_for(self, field_id: str) -> DataCollectionField:
        return self.get_owned(self.fields(), field_id, "data-collection field")


class DataFieldListCreate(_DataFieldView):
    @extend_schema(
        operation_id="listDataFields",
        summary="List data-collection fields",
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("agentId", str, required=False, description="Only the fields of this agent."),
        ],
        responses=DataFieldSerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        fields = self.fields()
        agent_id = request.query_params.get("agentId")
        if agent_id:
            if not self.mode_queryset(Agent).filter(public_id=agent_id).exists():
                raise ValidationFailed(fields={"agentId": [f"No agent with id '{agent_id}' exists in this business."]})
            fields = fields.filter(agent__public_id=agent_id)
        return self.paginate(fields, data_field_json)

    @extend_schema(
        operation_id="createDataField",
        summary="Create a data-collection field",
        request=DataFieldWriteSerializer,
        responses={201: DataFieldSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        key = self.acting_key()
        data_field = services.data_field_create(
            organization=key.organization, actor=key, mode=key.mode, **_data_field_kwargs(request)
        )
        return ok(data_field_json(data_field), "Data-collection field created.", status=201)


class DataFieldDetail(_DataFieldView):
    @extend_schema(operation_id="getDataField", summary="One data-collection field", responses=DataFieldSerializer)
    def get(self, request: ApiRequest, field_id: str) -> Response:
        return ok(data_field_json(self.field_for(field_id)))

    @extend_schema(
        operation_id="updateDataField",
        summary="Change a data-collection field",
        request=DataFieldWriteSerializer(partial=True),
        responses=DataFieldSerializer,
    )
    def patch(self, request: ApiRequest, field_id: str) -> Response:
        data_field = services.data_field_update(
            data_field=self.field_for(field_id), actor=self.acting_key(), **_data_field_kwargs(request)
        )
        return ok(data_field_json(data_field), "Data-collection field updated.")

    @extend_schema(
        operation_id="deleteDataField", summary="Delete a data-collection field", responses=DeletedSerializer
    )
    def delete(self, request: ApiRequest, field_id: str) -> Response:
        data_field = self.field_for(field_id)
        public_id = data_field.public_id
        services.data_field_delete(data_field=data_field, actor=self.acting_key())
        return ok({"id": public_id, "deleted": True}, "Data-collection field deleted.")
