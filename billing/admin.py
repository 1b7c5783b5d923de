from django.contrib import admin
from django.http import HttpRequest

from .models import LedgerEntry, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "rate_limit_per_minute", "api_requests_free", "api_request_block_price",
                    "webhook_attempt_price", "tool_invocation_price", "sms_segment_price", "updated_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "wallet", "amount", "balance_after", "reason", "reference", "actor_label"]
    list_filter = ["wallet__organization"]
    search_fields = ["reference", "reason", "wallet__organization__name"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
