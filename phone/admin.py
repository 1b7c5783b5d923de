"""Staff views of phone data. Product records are read-only here (they change through services);
staff configure a business's numbers, knowledge bases and AI settings, and every such change is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest

from accounts.services import audit_record

from .models import (
    AiConfig,
    Appointment,
    BusinessNumber,
    Call,
    Contact,
    KnowledgeBase,
    Message,
    Recording,
    SmsOptOut,
    TranscriptTurn,
    Voicemail,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Staff edits land in the business's audit trail like any other management action."""

    audit_action = ""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        assert isinstance(request.user, User)  # the admin site lets in signed-in staff only
        audit_record(
            organization=obj.organization,
            actor=request.user,
            action=f"{self.audit_action}.{'updated' if change else 'created'}",
            target=obj,
            metadata={"fields": sorted(form.changed_data), "via": "admin"},
        )


class TurnInline(admin.TabularInline):
    model = TranscriptTurn
    extra = 0
    can_delete = False
    fields = ("position", "offset_ms", "speaker", "text")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "organization",
        "direction",
        "from_number",
        "to_number",
        "status",
        "outcome",
        "started_at",
        "duration_seconds",
    ]
    list_filter = ["direction", "status", "outcome"]
    search_fields = ["public_id", "from_number", "to_number", "summary", "organization__name"]
    date_hierarchy = "started_at"
    list_select_related = ["organization"]
    inlines = [TurnInline]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "organization", "name", "phone_number", "email", "company", "created_at"]
    search_fields = ["public_id", "name", "phone_number", "email", "company"]
    list_select_related = ["organization"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "organization",
        "direction",
        "mode",
        "from_number",
        "to_number",
        "status",
        "encoding",
        "segments",
        "error_code",
        "created_at",
    ]
    list_filter = ["direction", "mode", "status", "encoding"]
    search_fields = ["public_id", "from_number", "to_number", "provider_message_id"]
    list_select_related = ["organization"]


@admin.register(SmsOptOut)
class SmsOptOutAdmin(ReadOnlyAdmin):
    list_display = ["phone_number", "organization", "keyword", "opted_out_at"]
    search_fields = ["phone_number"]


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "call", "content_type", "duration_seconds", "size_bytes", "created_at"]
    # The file path is not a URL anyone can open: recordings are served only through signed links.
    exclude = ["audio"]


@admin.register(Voicemail)
class VoicemailAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "organization", "from_number", "duration_seconds", "created_at"]
    search_fields = ["public_id", "from_number", "transcription"]


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "organization", "service", "starts_at", "status", "contact"]
    list_filter = ["status"]


@admin.register(BusinessNumber)
class BusinessNumberAdmin(AuditedAdmin):
    audit_action = "phone_number"
    list_display = ["e164", "organization", "label", "sms_capable", "voice_capable", "created_at"]
    search_fields = ["e164", "organization__name"]
    autocomplete_fields = ["organization"]


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(AuditedAdmin):
    audit_action = "knowledge_base"
    list_display = ["public_id", "name", "organization", "updated_at"]
    search_fields = ["public_id", "name", "organization__name"]
    autocomplete_fields = ["organization"]


@admin.register(AiConfig)
class AiConfigAdmin(AuditedAdmin):
    audit_action = "ai_config"
    list_display = ["organization", "language", "call_handling_mode", "updated_at"]
    autocomplete_fields = ["organization"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "language",
                    "call_handling_mode",
                    "greeting",
                    "business_hours",
                    "voicemail_enabled",
                ]
            },
        ),
        ("Texts", {"fields": ["sms_help_reply", "sms_quiet_hours_start", "sms_quiet_hours_end"]}),
        (
            "Sensitive (never exposed through the public API)",
            {
                "fields": [
                    "payments_enabled",
                    "payment_link_max_amount",
                    "spam_filter_level",
                    "spam_blocked_numbers",
                    "pii_redaction_enabled",
                    "pii_retention_days",
                ]
            },
        ),
    ]
