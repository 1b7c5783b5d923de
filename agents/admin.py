"""Staff views of tools, invocations and agents: read-only, because every change must go through
the services (validation and the audit trail). Credentials and signing secrets never appear:
encrypted columns are excluded and only masks are shown."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Agent, CustomTool, DataCollectionField, ToolInvocation, ToolSigningSecret


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CustomTool)
class CustomToolAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "organization",
        "mode",
        "endpoint_url",
        "auth_type",
        "masked_secret",
        "enabled",
        "last_invocation_status",
        "last_invoked_at",
    )
    list_filter = ("mode", "enabled", "auth_type", "last_invocation_status")
    search_fields = ("name", "public_id", "organization__name", "organization__public_id", "endpoint_url")
    # Edits go through the API or the dashboard so validation and the audit trail apply.
    exclude = ("auth_secret_encrypted", "auth_secret_hint")
    readonly_fields = (
        "public_id",
        "organization",
        "mode",
        "name",
        "description",
        "input_schema",
        "endpoint_url",
        "timeout_seconds",
        "enabled",
        "auth_type",
        "auth_header_name",
        "auth_username",
        "masked_secret",
        "last_invoked_at",
        "last_invocation_status",
        "last_invocation_error",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Secret")
    def masked_secret(self, tool: CustomTool) -> str:
        return tool.masked_secret or "—"


@admin.register(ToolInvocation)
class ToolInvocationAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "tool_name",
        "organization",
        "mode",
        "source",
        "status",
        "error_code",
        "response_status",
        "latency_ms",
        "metered",
        "created_at",
    )
    list_filter = ("status", "mode", "source", "metered")
    search_fields = ("public_id", "invocation_id", "tool_name", "call_session_id", "organization__public_id")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: ToolInvocation | None = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(ToolSigningSecret)
class ToolSigningSecretAdmin(ReadOnlyAdmin):
    list_display = ("organization", "masked", "created_at", "rotated_at", "previous_secret_expires_at")
    exclude = ("secret_encrypted", "previous_secret_encrypted")
    readonly_fields = ("organization", "masked", "created_at", "rotated_at", "previous_secret_expires_at")


class DataCollectionFieldInline(admin.TabularInline):
    model = DataCollectionField
    extra = 0
    fields = ("key", "label", "type", "choices", "required")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ("display_name", "agent_key", "organization", "mode", "is_default", "enabled", "updated_at")
    list_filter = ("mode", "is_default", "enabled")
    search_fields = ("agent_key", "display_name", "public_id", "organization__name", "organization__public_id")
    readonly_fields = (
        "public_id",
        "organization",
        "mode",
        "agent_key",
        "display_name",
        "instructions",
        "match_hints",
        "allow_payments",
        "allow_booking",
        "allow_transfer",
        "allow_knowledge_search",
        "is_default",
        "enabled",
        "created_at",
        "updated_at",
    )
    exclude = ("custom_tools", "knowledge_bases")
    inlines = [DataCollectionFieldInline]


@admin.register(DataCollectionField)
class DataCollectionFieldAdmin(ReadOnlyAdmin):
    list_display = ("key", "label", "type", "required", "agent", "organization", "mode")
    list_filter = ("mode", "type", "required")
    search_fields = ("key", "label", "organization__public_id")
    readonly_fields = (
        "public_id",
        "organization",
        "mode",
        "agent",
        "key",
        "label",
        "type",
        "choices",
        "required",
        "created_at",
        "updated_at",
    )
