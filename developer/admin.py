from django.contrib import admin
from django.http import HttpRequest

from .models import ApiKey, RequestLog


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are listed masked and never revealed: only the hash is stored anyway, and it is not shown."""

    list_display = ["name", "organization", "masked", "mode", "status_label", "created_at", "last_used_at",
                    "expires_at", "revoked_at"]
    list_filter = ["mode", "organization"]
    search_fields = ["name", "public_id", "organization__name", "last4"]
    fields = ["public_id", "organization", "name", "mode", "masked", "scopes", "created_by", "created_by_key",
              "rotated_from", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields

    @admin.display(description="Status")
    def status_label(self, obj: ApiKey) -> str:
        return obj.status()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    """Staff see every organisation's requests, and the ones that named no known key at all."""

    list_display = ["created_at", "organization", "method", "path", "status_code", "error_code", "key_masked",
                    "mode", "latency_ms", "request_id"]
    list_filter = ["mode", "status_code", "error_code"]
    search_fields = ["request_id", "path", "organization__name", "key_masked"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in RequestLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
