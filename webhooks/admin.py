"""Read-only staff views of endpoints, events, deliveries and attempts. Secrets are never shown;
changes go through the services (the replay action, an endpoint's delete through `endpoint_delete`),
never through a bare form save or delete."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.requests import AuthenticatedHttpRequest
from core.errors import ServiceError

from . import services
from .models import Attempt, Delivery, Endpoint, Event


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # events and deliveries are the record of what was sent


@admin.register(Endpoint)
class EndpointAdmin(_ReadOnly):
    list_display = ["url", "organization", "enabled", "failing_since", "last_status", "last_success_at", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "public_id", "organization__name"]
    # secret_encrypted and previous_secret_encrypted are deliberately absent.
    fields = (
        "public_id",
        "organization",
        "url",
        "description",
        "events",
        "modes",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "previous_secret_expires_at",
        "last_attempt_at",
        "last_status",
        "last_error",
        "last_success_at",
        "failing_since",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super(_ReadOnly, self).has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        assert isinstance(request.user, User)  # the admin site lets in signed-in staff only
        services.endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        assert isinstance(request.user, User)
        for endpoint in queryset.select_related("organization"):
            services.endpoint_delete(endpoint=endpoint, actor=request.user)


@admin.register(Event)
class EventAdmin(_ReadOnly):
    list_display = ["public_id", "type", "mode", "organization", "created_at"]
    list_filter = ["type", "mode"]
    search_fields = ["public_id", "organization__name"]
    fields = ("public_id", "organization", "type", "mode", "source", "api_key", "body", "created_at")
    readonly_fields = fields


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "response_status", "succeeded", "error_class", "error_message", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    list_display = ["public_id", "event", "endpoint", "status", "attempt_count", "next_attempt_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["public_id", "event__public_id", "endpoint__url", "organization__name"]
    list_select_related = ["event", "endpoint"]
    fields = (
        "public_id",
        "organization",
        "endpoint",
        "event",
        "replay_of",
        "source",
        "api_key",
        "status",
        "status_reason",
        "attempt_count",
        "next_attempt_at",
        "claimed_until",
        "queued_at",
        "held_since",
        "last_status",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["replay"]

    @admin.action(description="Replay selected deliveries (same event id, new delivery)")
    def replay(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset.select_related("endpoint", "event"):
            try:
                services.delivery_replay(delivery=delivery, actor=request.user)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{delivery.public_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Queued {done} replay(s).")
