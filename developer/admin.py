from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import (
    DecimalField,
    OuterRef,
    PositiveBigIntegerField,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedHttpRequest
from billing.models import Metric, Plan, UsageRollup
from billing.quota import money, month_start
from core.errors import ServiceError

from . import services
from .log_codec import API_PATH_PREFIX
from .models import AccessRequest, ApiKey, RequestLog


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are listed masked and never revealed: only the hash is stored anyway, and it is not shown."""

    list_display = [
        "name",
        "organization",
        "masked",
        "mode",
        "status_label",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["mode", "organization"]
    search_fields = ["name", "public_id", "organization__name", "last4"]
    fields = (
        "public_id",
        "organization",
        "name",
        "mode",
        "masked",
        "scopes",
        "created_by",
        "created_by_key",
        "rotated_from",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = fields

    actions = ["revoke"]

    @admin.display(description="Status")
    def status_label(self, obj: ApiKey) -> str:
        return obj.status()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a deleted row would take its usage and audit trail with it; revoke instead

    @admin.action(description="Revoke selected keys (immediate, audited)")
    def revoke(self, request: AuthenticatedHttpRequest, queryset: QuerySet[ApiKey]) -> None:
        done = 0
        for key in queryset.select_related("organization"):
            try:
                services.api_key_revoke(key=key, actor=request.user)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{key.public_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Revoked {done} key(s).", messages.SUCCESS)


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    """Staff see every organisation's requests, and the ones that named no known key at all."""

    list_display = [
        "created_at",
        "organization",
        "method",
        "shown_path",
        "status_code",
        "error_code",
        "masked_key",
        "mode",
        "latency_ms",
        "request_id",
    ]
    list_filter = ["mode", "status_code", "error_code"]
    # The request id is matched exactly in get_search_results: it is stored packed, not as text.
    search_fields = ["path", "organization__name", "key_masked"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "api_key"]
    # Rows written before paths were redacted may hold a key: the page shows the redacted path instead.
    exclude = ["path", "agent"]
    readonly_fields = [
        {"path": "shown_path", "agent": "user_agent"}.get(f.name, f.name) for f in RequestLog._meta.fields
    ]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        # Paths are stored without the API prefix: a path pasted whole still finds its requests.
        found, may_have_duplicates = super().get_search_results(
            request, queryset, term.replace(API_PATH_PREFIX, "", 1) if term.startswith(API_PATH_PREFIX) else term
        )
        if term:
            found |= queryset.filter(request_id=term)
        return found, may_have_duplicates

    @admin.display(description="Key")
    def masked_key(self, obj: RequestLog) -> str:
        return obj.masked_key

    @admin.display(description="Path", ordering="path")
    def shown_path(self, obj: RequestLog) -> str:
        return obj.shown_path

    @admin.display(description="User agent")
    def user_agent(self, obj: RequestLog) -> str:
        return obj.user_agent

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- access requests: staff review the beta add-on requests -------------------------------------------


class SubmittedFilter(admin.SimpleListFilter):
    """How long a request has been waiting: today (UTC), the last 7 or 30 days, or longer."""

    title = "submitted"
    parameter_name = "submitted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("older", "Older than 30 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "today":
            midnight = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
            return queryset.filter(created_at__gte=midnight)
        if self.value() == "7d":
            return queryset.filter(created_at__gte=now - timedelta(days=7))
        if self.value() == "30d":
            return queryset.filter(created_at__gte=now - timedelta(days=30))
        if self.value() == "older":
            return queryset.filter(created_at__lt=now - timedelta(days=30))
        return queryset


class PlanFilter(admin.SimpleListFilter):
    """The organisation's plan today, and whether its subscription is active."""

    title = "organisation's plan"
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*Plan.Code.choices, ("inactive", "No active subscription")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value in Plan.Code.values:
            return queryset.filter(organization__subscription__plan__code=value)
        if value == "inactive":
            return queryset.exclude(organization__subscription__status="active")
        return queryset


class DecisionActionForm(ActionForm):
    message = forms.CharField(
        required=False,
        max_length=services.DECISION_MESSAGE_MAX,
        label="Message to the business (optional)",
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "Sent by e-mail and shown on their dashboard"}),
    )


def _month_total(field: str, output: Any, **filters: Any) -> Coalesce:
    """This calendar month's (UTC) usage of the request's organisation, summed in one subquery per row."""
    start = datetime.combine(month_start(timezone.now()), time.min, tzinfo=UTC)
    rows = (
        UsageRollup.objects.filter(organization=OuterRef("organization"), hour__gte=start, **filters)
        .order_by()
        .values("organization")
        .annotate(total=Sum(field))
        .values("total")[:1]
    )
    return Coalesce(Subquery(rows, output_field=output), Value(0), output_field=output)


_SHORT_VOLUME = {"under_10k": "< 10k/mo", "10k_100k": "10k–100k/mo", "100k_1m": "100k–1M/mo", "over_1m": "> 1M/mo"}


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    """Beta add-on requests. Approve grants the add-on with `billing.services.addon_grant`, the same
    service as the Organisation admin's action; both decisions are idempotent, audited and e-mailed."""

    list_display = [
        "organization",
        "status_label",
        "submitted",
        "plan",
        "addon",
        "wallet_balance",
        "usage_this_month",
        "volume",
        "decided_at",
    ]
    list_filter = ["status", PlanFilter, SubmittedFilter]
    list_select_related = [
        "organization__subscription__plan",
        "organization__platform_addon",
        "organization__wallet",
        "requested_by",
        "decided_by",
    ]
    search_fields = [
        "organization__name",
        "organization__public_id",
        "contact_email",
        "public_id",
        "requested_by__username",
    ]
    ordering = ["-created_at"]
    action_form = DecisionActionForm
    actions = ["approve", "deny"]
    fields = (
        "public_id",
        "organization",
        "status",
        "created_at",
        "requested_by",
        "contact_email",
        "expected_monthly_volume",
        "intended_use",
        "plan",
        "addon",
        "wallet_balance",
        "usage_breakdown",
        "decided_by",
        "decided_at",
        "decision_message",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        money_field = DecimalField(max_digits=16, decimal_places=6)
        return (
            super()
            .get_queryset(request)
            .annotate(
                month_requests=_month_total("quantity", PositiveBigIntegerField(), metric=Metric.API_REQUESTS),
                month_charges=_month_total("amount", money_field),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # businesses ask from their dashboard

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the history of decisions stays

    # --- the organisation at a glance ---

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj: AccessRequest) -> str:
        return obj.get_status_display()

    @admin.display(description="Submitted", ordering="created_at")
    def submitted(self, obj: AccessRequest) -> str:
        return format_html('<span title="{}">{} ago</span>', obj.created_at.isoformat(), timesince(obj.created_at))

    @admin.display(description="Subscription")
    def plan(self, obj: AccessRequest) -> str:
        subscription = getattr(obj.organization, "subscription", None)
        if subscription is None:
            return "None"
        return f"{subscription.plan.code} ({subscription.get_status_display().lower()})"

    @admin.display(description="Add-on", boolean=True)
    def addon(self, obj: AccessRequest) -> bool:
        addon = getattr(obj.organization, "platform_addon", None)
        return bool(addon and addon.is_active)

    @admin.display(description="Wallet")
    def wallet_balance(self, obj: AccessRequest) -> str:
        wallet = getattr(obj.organization, "wallet", None)
        return f"${money(wallet.balance)}" if wallet else "—"

    @admin.display(description="Expected volume", ordering="expected_monthly_volume")
    def volume(self, obj: AccessRequest) -> str:
        return _SHORT_VOLUME.get(obj.expected_monthly_volume, obj.expected_monthly_volume)

    @admin.display(description="This month: API requests · charges")
    def usage_this_month(self, obj: AccessRequest) -> str:
        requests = getattr(obj, "month_requests", 0) or 0
        charges = getattr(obj, "month_charges", None) or Decimal("0")
        return f"{requests:,} requests · ${money(charges)}"

    @admin.display(description="Usage this month (UTC), by metric")
    def usage_breakdown(self, obj: AccessRequest) -> str:
        start = datetime.combine(month_start(timezone.now()), time.min, tzinfo=UTC)
        rows = (
            UsageRollup.objects.filter(organization_id=obj.organization_id, hour__gte=start)
            .order_by()
            .values("metric", "mode")
            .annotate(quantity=Sum("quantity"), amount=Sum("amount"))
            .order_by("metric", "mode")
        )
        labels = dict(Metric.choices)
        lines = [
            (labels.get(r["metric"], r["metric"]), r["mode"], f"{r['quantity']:,}", money(r["amount"])) for r in rows
        ]
        if not lines:
            return "No usage this month."
        return format_html(
            "<table><tr><th>Metric</th><th>Mode</th><th>Quantity</th><th>Charged (USD)</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>${}</td></tr>", lines),
        )

    # --- decisions ---

    def _decide(self, request: AuthenticatedHttpRequest, queryset: QuerySet, *, approve: bool) -> None:
        service = services.access_request_approve if approve else services.access_request_deny
        verb = "approved" if approve else "denied"
        message = request.POST.get("message", "")
        decided, unchanged, refused = 0, 0, []
        for access_request in queryset.select_related("organization"):
            was = access_request.status
            try:
                service(access_request=access_request, actor=request.user, message=message)
            except ServiceError as exc:
                refused.append(f"{access_request.organization}: {exc.message}")
                continue
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                return
            if was == verb:
                unchanged += 1
            else:
                decided += 1
        if decided:
            self.message_user(request, f"{decided} request(s) {verb}; the requesters were e-mailed.", messages.SUCCESS)
        if unchanged:
            self.message_user(request, f"{unchanged} request(s) were already {verb}; nothing changed.", messages.INFO)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    # --- one request's own page: Approve and Deny buttons (admin/developer/accessrequest/change_form.html) ---

    change_form_template = "admin/developer/accessrequest/change_form.html"

    def get_urls(self) -> list:
        return [
            path(
                "<int:request_pk>/decide/",
                self.admin_site.admin_view(require_POST(self.decide_view)),
                name="developer_accessrequest_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: AuthenticatedHttpRequest, request_pk: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        get_object_or_404(AccessRequest, pk=request_pk)
        decision = request.POST.get("decision")
        if decision not in ("approve", "deny"):
            self.message_user(request, "Choose Approve or Deny.", messages.ERROR)
        else:
            # The same path as the list's bulk actions: one service call, audited and e-mailed.
            self._decide(request, AccessRequest.objects.filter(pk=request_pk), approve=decision == "approve")
        return redirect("admin:developer_accessrequest_change", request_pk)

    @admin.action(description="Approve selected requests (grants the add-on)", permissions=["change"])
    def approve(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Deny selected requests (give the reason as the message)", permissions=["change"])
    def deny(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, approve=False)
