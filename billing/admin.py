"""Billing in Django admin: plans (editable by staff), wallets with "Add funds", and read-only usage.

Usage rollups, usage records, ledger entries, monthly free-quota counters and add-on grants are
never edited here: rows are written only by metering and the billing services. The "Usage
reviewers" group (see migration 0005) can view them across organisations, filter them and export
them as CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.validators import DecimalValidator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone as dj_timezone
from django.utils.html import format_html

from accounts.models import Membership, Organization
from accounts.requests import AuthenticatedHttpRequest
from core.errors import ServiceError
from core.timefmt import iso

from .metering import plan_change_effect
from .models import (
    MONEY,
    LedgerEntry,
    MonthlyUsage,
    Plan,
    PlatformAddon,
    Subscription,
    UsageRecord,
    UsageRollup,
    Wallet,
)
from .quota import csv_text, money, month_start, next_month_start
from .services import (
    addon_grant,
    addon_revoke,
    organization_reinstate,
    organization_suspend,
    plan_save,
    subscription_set,
)
from .wallet import wallet_credit

_PRICE_FIELDS = (
    "api_request_block_price",
    "webhook_attempt_price",
    "tool_invocation_price",
    "sms_segment_price",
)


class PlanForm(forms.ModelForm):
    """Prices beyond the stored precision are refused, never rounded: the price staff typed is the price charged."""

    class Meta:
        model = Plan
        fields = [
            "code",
            "name",
            "rate_limit_per_minute",
            "api_requests_free",
            "api_request_block_price",
            "webhook_attempts_free",
            "webhook_attempt_price",
            "tool_invocations_free",
            "tool_invocation_price",
            "sms_segments_free",
            "sms_segment_price",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in _PRICE_FIELDS:
            field = self.fields[name]
            assert isinstance(field, forms.DecimalField)
            # The form field's own decimal_places check would answer with a generic message; ours says why.
            field.decimal_places = None
            field.validators = [v for v in field.validators if not isinstance(v, DecimalValidator)]
            field.max_digits = None

    def _clean_price(self, name: str) -> Decimal:
        value: Decimal = self.cleaned_data[name]
        places = MONEY["decimal_places"]
        if value is not None and value != value.quantize(Decimal(1).scaleb(-places)):
            raise forms.ValidationError(
                f"Prices are kept to {places} decimal places ($0.000001); {self.data.get(name)} has more. "
                f"Enter it with at most {places} decimals: nothing is rounded."
            )
        return value

    def clean_api_request_block_price(self) -> Decimal:
        return self._clean_price("api_request_block_price")

    def clean_webhook_attempt_price(self) -> Decimal:
        return self._clean_price("webhook_attempt_price")

    def clean_tool_invocation_price(self) -> Decimal:
        return self._clean_price("tool_invocation_price")

    def clean_sms_segment_price(self) -> Decimal:
        return self._clean_price("sms_segment_price")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Staff edit rates here. A charge copies the price it was made at, so edits never rewrite past charges."""

    form = PlanForm

    list_display = [
        "code",
        "name",
        "rate_limit_per_minute",
        "api_requests_free",
        "api_request_block_price",
        "webhook_attempts_free",
        "webhook_attempt_price",
        "tool_invocations_free",
        "tool_invocation_price",
        "sms_segments_free",
        "sms_segment_price",
        "updated_at",
    ]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # subscriptions point at plans; retire a plan by moving its subscribers

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        assert isinstance(request.user, User)  # the admin site lets in signed-in staff only
        plan_save(plan=obj, changed=list(form.changed_data), actor=request.user)


# --- filters and CSV shared by the read-only usage admins ----------------------------------------


def period_filter(field: str, title: str = "period") -> type[admin.SimpleListFilter]:
    """A list filter on calendar periods (UTC) of a date-time field: today, 7 days, this/last month."""

    class PeriodFilter(admin.SimpleListFilter):
        parameter_name = "period"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [
                ("today", "Today"),
                ("7d", "Last 7 days"),
                ("month", "This month"),
                ("last_month", "Last month"),
                ("year", "This year"),
            ]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            bounds = self.bounds(self.value())
            if bounds is None:
                return queryset
            low, high = bounds
            return queryset.filter(**{f"{field}__gte": low, f"{field}__lt": high})

        @staticmethod
        def bounds(value: str | None) -> tuple[datetime, datetime] | None:
            now = dj_timezone.now().astimezone(UTC)
            today = datetime.combine(now.date(), time.min, tzinfo=UTC)
            this_month = datetime.combine(month_start(now), time.min, tzinfo=UTC)
            tomorrow = today + timedelta(days=1)
            if value == "today":
                return today, tomorrow
            if value == "7d":
                return today - timedelta(days=6), tomorrow
            if value == "month":
                return this_month, datetime.combine(next_month_start(this_month.date()), time.min, tzinfo=UTC)
            if value == "last_month":
                start = month_start(this_month.date() - timedelta(days=1))
                return datetime.combine(start, time.min, tzinfo=UTC), this_month
            if value == "year":
                return today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)
            return None

    PeriodFilter.title = title
    return PeriodFilter


Column = tuple[str, Callable[[Any], Any]]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, (int, bool)):
        return str(value)
    return csv_text(str(value))


class ReadOnlyUsageAdmin(admin.ModelAdmin):
    """Viewable by staff with the view permission; nobody adds, changes or deletes rows here."""

    csv_columns: list[Column] = []
    csv_name = "export"
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Export selected rows as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = dj_timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_name}-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow([header for header, _ in self.csv_columns])
        for row in queryset.iterator(chunk_size=2000):
            writer.writerow([_csv_value(getter(row)) for _, getter in self.csv_columns])
        return response


def _key(row: Any) -> str:
    return row.api_key.public_id if row.api_key_id else ""


@admin.register(UsageRollup)
class UsageRollupAdmin(ReadOnlyUsageAdmin):
    list_display = ["hour", "organization", "api_key", "source", "metric", "mode", "quantity", "amount"]
    list_filter = [
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("api_key", admin.RelatedOnlyFieldListFilter),
        "source",
        "metric",
        "mode",
        period_filter("hour"),
    ]
    list_select_related = ["organization", "api_key"]
    date_hierarchy = "hour"
    search_fields = ["organization__name", "organization__public_id", "api_key__public_id", "api_key__name"]
    csv_name = "usage-rollups"
    csv_columns = [
        ("hour_utc", lambda r: r.hour),
        ("organization_id", lambda r: r.organization.public_id),
        ("organization", lambda r: r.organization.name),
        ("key_id", _key),
        ("key_name", lambda r: r.api_key.name if r.api_key_id else ""),
        ("source", lambda r: r.source),
        ("metric", lambda r: r.metric),
        ("mode", lambda r: r.mode),
        ("quantity", lambda r: r.quantity),
        ("charges_usd", lambda r: r.amount),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("organization", "api_key")


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyUsageAdmin):
    list_display = [
        "created_at",
        "organization",
        "api_key",
        "source",
        "metric",
        "mode",
        "quantity",
        "amount",
        "reference",
    ]
    list_filter = [
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("api_key", admin.RelatedOnlyFieldListFilter),
        "source",
        "metric",
        "mode",
        period_filter("created_at"),
    ]
    list_select_related = ["organization", "api_key"]
    date_hierarchy = "created_at"
    search_fields = ["reference", "organization__name", "api_key__public_id"]
    csv_name = "usage-records"
    csv_columns = [
        ("created_at", lambda r: r.created_at),
        ("organization_id", lambda r: r.organization.public_id),
        ("organization", lambda r: r.organization.name),
        ("key_id", _key),
        ("source", lambda r: r.source),
        ("metric", lambda r: r.metric),
        ("mode", lambda r: r.mode),
        ("quantity", lambda r: r.quantity),
        ("charges_usd", lambda r: r.amount),
        ("reference", lambda r: r.reference),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("organization", "api_key")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyUsageAdmin):
    # Listed, filtered and exported by `dated_at` (the period the charge belongs to), like the usage reports.
    list_display = [
        "dated_at",
        "created_at",
        "organization",
        "amount",
        "balance_after",
        "reason",
        "metric",
        "api_key",
        "quantity",
        "unit_price",
        "reference",
        "actor_label",
    ]
    list_filter = [
        ("wallet__organization", admin.RelatedOnlyFieldListFilter),
        ("api_key", admin.RelatedOnlyFieldListFilter),
        "metric",
        period_filter("dated_at"),
    ]
    list_select_related = ["wallet__organization", "api_key"]
    search_fields = ["public_id", "reference", "reason", "wallet__organization__name"]
    date_hierarchy = "dated_at"
    csv_name = "ledger"
    csv_columns = [
        ("dated_at", lambda r: r.dated_at),
        ("created_at", lambda r: r.created_at),
        ("entry_id", lambda r: r.public_id),
        ("organization_id", lambda r: r.wallet.organization.public_id),
        ("organization", lambda r: r.wallet.organization.name),
        ("amount_usd", lambda r: r.amount),
        ("balance_after_usd", lambda r: r.balance_after),
        ("reason", lambda r: r.reason),
        ("metric", lambda r: r.metric),
        ("key_id", _key),
        ("quantity", lambda r: r.quantity),
        ("unit_price_usd", lambda r: r.unit_price),
        ("reference", lambda r: r.reference),
        ("actor", lambda r: r.actor_label),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("wallet__organization", "api_key")

    @admin.display(description="Organisation", ordering="wallet__organization__name")
    def organization(self, obj: LedgerEntry) -> str:
        return obj.wallet.organization.name


@admin.register(MonthlyUsage)
class MonthlyUsageAdmin(ReadOnlyUsageAdmin):
    list_display = ["month", "organization", "metric", "quantity", "billed_units"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter), "metric", "month"]
    list_select_related = ["organization"]
    csv_name = "monthly-usage"
    csv_columns = [
        ("month", lambda r: f"{r.month:%Y-%m}"),
        ("organization_id", lambda r: r.organization.public_id),
        ("organization", lambda r: r.organization.name),
        ("metric", lambda r: r.metric),
        ("live_quantity", lambda r: r.quantity),
        ("billed_units", lambda r: r.billed_units),
    ]


class _AddonStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked"), ("never", "Never granted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(granted_at__isnull=False, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "never":
            return queryset.filter(granted_at__isnull=True)
        return queryset


@admin.register(PlatformAddon)
class PlatformAddonAdmin(ReadOnlyUsageAdmin):
    """Grants are made with the Organisation admin's actions (audited); this list is for review."""

    list_display = ["organization", "is_active", "granted_at", "granted_by", "revoked_at", "revoked_by"]
    list_filter = [
        _AddonStateFilter,
        ("organization", admin.RelatedOnlyFieldListFilter),
        period_filter("granted_at", "granted"),
    ]
    list_select_related = ["organization", "granted_by", "revoked_by"]
    csv_name = "addon-grants"
    csv_columns = [
        ("organization_id", lambda r: r.organization.public_id),
        ("organization", lambda r: r.organization.name),
        ("active", lambda r: r.is_active),
        ("granted_at", lambda r: r.granted_at),
        ("granted_by", lambda r: r.granted_by),
        ("revoked_at", lambda r: r.revoked_at),
        ("revoked_by", lambda r: r.revoked_by),
    ]

    @admin.display(description="Active", boolean=True)
    def is_active(self, obj: PlatformAddon) -> bool:
        return obj.is_active


# --- wallets: read-only, plus "Add funds" through wallet_credit (audited) -------------------------


class AddFundsForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=12, decimal_places=2, label="Amount (USD)")
    reason = forms.CharField(max_length=200, initial="Funds added by AI Phone 360 staff")
    reference = forms.CharField(
        max_length=120,
        required=False,
        help_text="Optional payment or ticket reference. Submitting the same reference twice adds the funds once.",
    )


@admin.register(Wallet)
class WalletAdmin(ReadOnlyUsageAdmin):
    list_display = ["organization", "balance", "updated_at", "add_funds_link"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__public_id"]
    readonly_fields = ["organization", "balance", "updated_at", "add_funds_link"]
    csv_name = "wallets"
    csv_columns = [
        ("organization_id", lambda r: r.organization.public_id),
        ("organization", lambda r: r.organization.name),
        ("balance_usd", lambda r: r.balance),
        ("updated_at", lambda r: r.updated_at),
    ]

    def get_list_display(self, request: HttpRequest) -> list[str | Callable[[Any], str | bool]]:
        shown = list(super().get_list_display(request))
        return shown if request.user.has_perm("billing.add_funds") else [f for f in shown if f != "add_funds_link"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        shown = list(super().get_readonly_fields(request, obj))
        return shown if request.user.has_perm("billing.add_funds") else [f for f in shown if f != "add_funds_link"]

    def get_urls(self) -> list:
        return [
            path(
                "<int:wallet_id>/add-funds/",
                self.admin_site.admin_view(self.add_funds_view),
                name="billing_wallet_add_funds",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Add funds")
    def add_funds_link(self, obj: Wallet) -> str:
        return format_html('<a href="{}">Add funds…</a>', reverse("admin:billing_wallet_add_funds", args=[obj.pk]))

    def add_funds_view(self, request: AuthenticatedHttpRequest, wallet_id: int) -> HttpResponse:
        if not request.user.has_perm("billing.add_funds"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("organization"), pk=wallet_id)
        form = AddFundsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = wallet_credit(
                    organization=wallet.organization,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    reference=form.cleaned_data["reference"] or None,
                )
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"Added ${entry.amount:,.2f} to {wallet.organization}; the balance is now "
                    f"${entry.balance_after:,.2f}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:billing_wallet_change", args=[wallet.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add funds to {wallet.organization}",
            "opts": self.model._meta,
            "wallet": wallet,
            "form": form,
        }
        return TemplateResponse(request, "admin/billing/wallet/add_funds.html", context)


# --- organisations: their plan, add-on, wallet and suspension (accounts' model, administered with its billing) ---


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(Plan.objects.all(), label="Plan (for a plan change)")
    status = forms.ChoiceField(choices=Subscription.Status.choices, initial=Subscription.Status.ACTIVE)


class OrganizationActionForm(ActionForm, PlanChangeForm):
    reason = forms.CharField(required=False, label="Reason (for suspension)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].required = self.fields["status"].required = False  # only "Change plan" needs them


class _ReadOnlyInline(admin.StackedInline):
    """Shown on the organisation page; changed only through the actions above (services, audited)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MembershipInline(_ReadOnlyInline):
    model = Membership
    fields = (
        "user",
        "role",
        "created_at",
    )
    readonly_fields = fields
    verbose_name = "Membership (members and roles are managed by the business's owners)"


class SubscriptionInline(_ReadOnlyInline):
    model = Subscription
    fields = (
        "plan",
        "status",
        "started_at",
        "updated_at",
    )
    readonly_fields = fields
    verbose_name = "Subscription (use the “Change plan” action above)"


class AddonInline(_ReadOnlyInline):
    model = PlatformAddon
    fields = (
        "granted_at",
        "granted_by",
        "revoked_at",
        "revoked_by",
    )
    readonly_fields = fields
    verbose_name = "Developer Platform add-on (use the actions above to grant or revoke)"


class WalletInline(_ReadOnlyInline):
    model = Wallet
    fields = (
        "balance",
        "updated_at",
    )
    readonly_fields = fields
    verbose_name = "Wallet (use “Add funds” on the wallet page)"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Read-only: organisations are created by `organization_create` (wallet, subscription and add-on
    rows with it), and every change here is an action that calls a billing service (audited, and the
    API gate's cached state refreshed at once)."""

    list_display = ["name", "public_id", "plan", "addon", "balance", "suspended_at", "created_at"]
    list_filter = ["subscription__plan", "subscription__status", "suspended_at"]
    search_fields = ["name", "public_id"]
    fields = (
        "name",
        "public_id",
        "timezone",
        "country",
        "created_at",
        "suspended_at",
        "suspended_by",
        "suspension_reason",
    )
    readonly_fields = fields
    inlines = [SubscriptionInline, AddonInline, WalletInline, MembershipInline]
    action_form = OrganizationActionForm
    actions = ["change_plan", "grant_addon", "revoke_addon", "suspend", "reinstate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # an organisation's calls, charges and audit trail stay; suspend it instead

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("subscription__plan", "platform_addon", "wallet")

    @admin.display(description="Plan")
    def plan(self, obj: Organization) -> str:
        sub = getattr(obj, "subscription", None)
        return f"{sub.plan.code} ({sub.status})" if sub else "—"

    @admin.display(description="Add-on", boolean=True)
    def addon(self, obj: Organization) -> bool:
        addon = getattr(obj, "platform_addon", None)
        return bool(addon and addon.is_active)

    @admin.display(description="Balance")
    def balance(self, obj: Organization) -> str:
        wallet = getattr(obj, "wallet", None)
        return f"${wallet.balance:,.2f}" if wallet else "—"

    @admin.action(description="Change plan (choose the plan and status below)")
    def change_plan(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = PlanChangeForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Choose a plan and a status to change to.", messages.ERROR)
            return None
        plan, status = form.cleaned_data["plan"], form.cleaned_data["status"]
        if request.POST.get("confirm") != "yes":
            # Staff see what the change does to this month before confirming it.
            previews = [
                {
                    "organization": org,
                    "current": getattr(getattr(org, "subscription", None), "plan", None),
                    "lines": plan_change_effect(organization_id=org.pk, new_plan=plan),
                }
                for org in queryset
            ]
            context = {
                **self.admin_site.each_context(request),
                "title": f"Change plan to {plan.name}?",
                "opts": self.model._meta,
                "plan": plan,
                "status": status,
                "previews": previews,
                "queryset": queryset,
            }
            return TemplateResponse(request, "admin/billing/organization/change_plan.html", context)
        for org in queryset:
            subscription_set(organization=org, plan_code=plan.code, status=status, actor=request.user)
        self.message_user(
            request, f"{queryset.count()} organisation(s) moved to {plan.name} ({status}).", messages.SUCCESS
        )
        return None

    @admin.action(description="Grant the Developer Platform add-on")
    def grant_addon(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        for org in queryset:
            addon_grant(organization=org, actor=request.user)
        self.message_user(request, f"Add-on granted to {queryset.count()} organisation(s).", messages.SUCCESS)

    @admin.action(description="Revoke the Developer Platform add-on")
    def revoke_addon(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        for org in queryset:
            addon_revoke(organization=org, actor=request.user)
        self.message_user(request, f"Add-on revoked for {queryset.count()} organisation(s).", messages.SUCCESS)

    @admin.action(description="Suspend (give a reason below)")
    def suspend(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give a reason to suspend.", messages.ERROR)
            return
        for org in queryset:
            organization_suspend(organization=org, actor=request.user, reason=reason)
        self.message_user(request, f"Suspended {queryset.count()} organisation(s).", messages.SUCCESS)

    @admin.action(description="Reinstate")
    def reinstate(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        for org in queryset:
            organization_reinstate(organization=org, actor=request.user)
        self.message_user(request, f"Reinstated {queryset.count()} organisation(s).", messages.SUCCESS)
