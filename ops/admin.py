"""Staff views: the operations page (Ops → Operations) and the business alerts (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import overview
from .models import Alert, Operations


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(_ReadOnly):
    list_display = ["title", "organization", "kind", "opened_at", "cleared_at", "emailed_to"]
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["organization__name", "organization__public_id", "subject"]
    list_select_related = ["organization"]


@admin.register(Operations)
class OperationsAdmin(_ReadOnly):
    """The list page of this (table-less) entry is the operations overview: superusers, and staff given
    the "ops | operations | Can view" permission (it shows every organisation's figures)."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Operations",
            **overview.overview(),
        }
        return TemplateResponse(request, "admin/ops/operations.html", context)
