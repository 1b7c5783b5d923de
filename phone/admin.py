"""Staff views of phone data. Product records are read-only here (they change through services);
staff configure a business's numbers, knowledge bases and AI settings, and every such change is saved
by the same service the API and dashboard call (validated, normalised, audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import (
    AiConfig,
    Appointment,
    BusinessNumber,
    Call,
    Contact,
    KnowledgeBase,
    KnowledgeDocument,
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

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # calls, texts and opt-outs are records (an opt-out deleted here would text someone who said STOP)


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets in signed-in staff only
    return request.user


def _add_service_errors(form: forms.ModelForm, error: ValidationError, names: dict[str, str]) -> None:
    """A service's ValidationError as form errors, its keys mapped to the form's field names."""
    for key, messages in error.message_dict.items():
        field = names.get(key, key)
        form.add_error(field if field in form.fields else None, messages)


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
        "mode",
        "direction",
        "from_number",
        "to_number",
        "status",
        "outcome",
        "started_at",
        "duration_seconds",
    ]
    list_filter = ["mode", "direction", "status", "outcome"]
    search_fields = ["public_id", "from_number", "to_number", "summary", "organization__name"]
    date_hierarchy = "started_at"
    list_select_related = ["organization"]
    inlines = [TurnInline]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "organization", "mode", "name", "phone_number", "email", "company", "created_at"]
    list_filter = ["mode"]
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
    list_display = ["phone_number", "organization", "mode", "keyword", "opted_out_at"]
    list_filter = ["mode"]
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


class BusinessNumberForm(forms.ModelForm):
    class Meta:
        model = BusinessNumber
        fields = ["organization", "e164", "label", "sms_capable", "voice_capable"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organization, raw = cleaned.get("organization"), cleaned.get("e164")
        if self.instance.pk is None and organization is not None and raw:
            # Carrier webhooks route by this column: it is stored exactly as business_number_add stores it.
            try:
                cleaned["e164"] = services.phone_number_clean(raw, organization=organization, field="e164")
            except ValidationError as exc:
                _add_service_errors(self, exc, {})
        return cleaned


@admin.register(BusinessNumber)
class BusinessNumberAdmin(admin.ModelAdmin):
    form = BusinessNumberForm
    list_display = ["e164", "organization", "label", "sms_capable", "voice_capable", "created_at"]
    search_fields = ["e164", "organization__name"]
    autocomplete_fields = ["organization"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["organization", "e164"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: BusinessNumber, form: Any, change: bool) -> None:
        if change:
            services.business_number_update(
                business_number=obj,
                actor=_staff(request),
                label=obj.label,
                sms_capable=obj.sms_capable,
                voice_capable=obj.voice_capable,
            )
            return
        added = services.business_number_add(
            organization=obj.organization,
            number=obj.e164,
            label=obj.label,
            sms_capable=obj.sms_capable,
            voice_capable=obj.voice_capable,
            actor=_staff(request),
        )
        obj.pk, obj.e164 = added.pk, added.e164

    def delete_model(self, request: HttpRequest, obj: BusinessNumber) -> None:
        services.business_number_remove(business_number=obj, actor=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BusinessNumber]) -> None:
        for business_number in queryset.select_related("organization"):
            services.business_number_remove(business_number=business_number, actor=_staff(request))


class KnowledgeDocumentInline(admin.StackedInline):
    model = KnowledgeDocument
    extra = 1
    fields = ["title", "content"]


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    list_display = ["public_id", "name", "organization", "updated_at"]
    search_fields = ["public_id", "name", "organization__name"]
    autocomplete_fields = ["organization"]
    inlines = [KnowledgeDocumentInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        changed = [formset for formset in formsets if formset.has_changed()]
        if changed:
            services.knowledge_base_documents_changed(
                knowledge_base=form.instance,
                actor=_staff(request),
                added=sum(len(f.new_objects) for f in changed),
                changed=sum(len(f.changed_objects) for f in changed),
                deleted=sum(len(f.deleted_objects) for f in changed),
            )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["organization"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: KnowledgeBase, form: Any, change: bool) -> None:
        services.knowledge_base_save(knowledge_base=obj, changed=form.changed_data, actor=_staff(request))

    def delete_model(self, request: HttpRequest, obj: KnowledgeBase) -> None:
        services.knowledge_base_delete(knowledge_base=obj, actor=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[KnowledgeBase]) -> None:
        for knowledge_base in queryset.select_related("organization"):
            services.knowledge_base_delete(knowledge_base=knowledge_base, actor=_staff(request))


# The fields ai_config_update takes (the public API's rules), and the staff-only ones ai_config_staff_update takes.
_RULED_FIELDS = ["language", "call_handling_mode", "greeting", "business_hours", "voicemail_enabled", "sms_help_reply"]
_QUIET_HOURS_FIELDS = ["sms_quiet_hours_start", "sms_quiet_hours_end"]
_STAFF_FIELDS = [
    "payments_enabled",
    "payment_link_max_amount",
    "spam_filter_level",
    "spam_blocked_numbers",
    "pii_redaction_enabled",
    "pii_retention_days",
]
# A rule's error names the wire field; the form shows it on its own field.
_WIRE_TO_FIELD = {
    **{wire: name for wire, name in services.AI_CONFIG_FIELDS.items()},
    "smsQuietHours": "sms_quiet_hours_start",
}


def _ai_config_changes(form: forms.ModelForm) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed fields as keywords of ai_config_update and of ai_config_staff_update."""
    data, changed = form.cleaned_data, set(form.changed_data)
    ruled = {name: data[name] for name in _RULED_FIELDS if name in changed and name in data}
    if changed & set(_QUIET_HOURS_FIELDS) and all(data.get(name) for name in _QUIET_HOURS_FIELDS):
        start, end = data["sms_quiet_hours_start"], data["sms_quiet_hours_end"]
        ruled["sms_quiet_hours"] = {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    staff = {name: data[name] for name in _STAFF_FIELDS if name in changed and name in data}
    return ruled, staff


class AiConfigForm(forms.ModelForm):
    class Meta:
        model = AiConfig
        fields = [*_RULED_FIELDS, *_QUIET_HOURS_FIELDS, *_STAFF_FIELDS]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        ruled, staff = _ai_config_changes(self)
        try:
            services.ai_config_check(**ruled)
        except ValidationError as exc:
            _add_service_errors(self, exc, _WIRE_TO_FIELD)
        for number in staff.get("spam_blocked_numbers") or []:
            try:
                services.phone_number_clean(
                    number, organization=self.instance.organization, field="spam_blocked_numbers"
                )
            except ValidationError as exc:
                _add_service_errors(self, exc, {})
        return cleaned


@admin.register(AiConfig)
class AiConfigAdmin(admin.ModelAdmin):
    """Created with the business (`ai_config_for`); staff change it here through the services only."""

    form = AiConfigForm
    list_display = ["organization", "mode", "language", "call_handling_mode", "updated_at"]
    list_filter = ["mode"]
    readonly_fields = ["organization", "mode"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: AiConfig, form: Any, change: bool) -> None:
        ruled, staff = _ai_config_changes(form)
        if ruled:
            services.ai_config_update(organization=obj.organization, mode=obj.mode, actor=_staff(request), **ruled)
        if staff:
            services.ai_config_staff_update(
                organization=obj.organization, mode=obj.mode, actor=_staff(request), **staff
            )

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "mode",
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
