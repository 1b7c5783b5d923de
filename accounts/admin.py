from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import PlatformAddon, Subscription, Wallet
from billing.services import addon_grant, addon_revoke

from .models import AuditEntry, Membership, Organization
from .services import organization_reinstate, organization_suspend
from .requests import AuthenticatedHttpRequest


class OrganizationActionForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason (for suspension)")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SubscriptionInline(admin.StackedInline):
    model = Subscription
    extra = 0
    readonly_fields = ["started_at", "updated_at"]


class AddonInline(admin.StackedInline):
    model = PlatformAddon
    extra = 0
    can_delete = False
    readonly_fields = ["granted_at", "granted_by", "revoked_at", "revoked_by"]
    verbose_name = "Developer Platform add-on (use the actions above to grant or revoke)"


class WalletInline(admin.StackedInline):
    model = Wallet
    extra = 0
    can_delete = False
    readonly_fields = ["balance", "updated_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "plan", "addon", "balance", "suspended_at", "created_at"]
    list_filter = ["subscription__plan", "subscription__status", "suspended_at"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at", "suspended_at", "suspended_by", "suspension_reason"]
    inlines = [SubscriptionInline, AddonInline, WalletInline, MembershipInline]
    action_form = OrganizationActionForm
    actions = ["grant_addon", "revoke_addon", "suspend", "reinstate"]

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


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_label", "action", "target_label"]
    list_filter = ["action", "actor_type"]
    search_fields = ["organization__name", "actor_label", "target_id", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
