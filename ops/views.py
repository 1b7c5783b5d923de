"""Settings → Developer → Alerts: each member's alert kinds, the owner's low-balance threshold, open and past alerts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from core.errors import ServiceError
from developer.dashboard import HtmxHttpRequest, dashboard_view, require_manager

from . import alerts
from .models import Alert, AlertKind, AlertOptOut, AlertSettings

HISTORY = 50


def _context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    membership = request.membership
    opted_out = set(AlertOptOut.objects.filter(membership=membership).values_list("kind", flat=True))
    settings_row = AlertSettings.objects.filter(organization=request.organization).first()
    threshold = settings_row.low_balance_threshold if settings_row else None
    return {
        "kinds": [(kind.value, kind.label, kind.value not in opted_out) for kind in AlertKind],
        "threshold": "" if threshold is None else f"{threshold:.2f}",
        "is_owner": membership.role == Role.OWNER,
        "history": Alert.objects.filter(organization=request.organization)[:HISTORY],
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view
def alert_settings(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)  # alerts go to owners and admins; viewers have nothing to choose
    if request.method == "GET":
        return render(request, "ops/alert_settings.html", _context(request))
    try:
        with transaction.atomic():  # both choices or neither
            _save(request)
    except ValidationError as exc:
        context = _context(request, errors=exc.message_dict, threshold=request.POST.get("threshold", ""))
        return render(request, "ops/alert_settings.html", context, status=400)
    except ServiceError as exc:
        return render(request, "ops/alert_settings.html", _context(request, error=exc.message), status=exc.status)
    messages.success(request, "Alert settings saved.")
    return redirect(reverse("ops:alert_settings"))


def _save(request: HtmxHttpRequest) -> None:
    # Unticked boxes are the kinds this member opts out of.
    alerts.alert_opt_outs_set(
        membership=request.membership,
        kinds=[kind for kind in AlertKind.values if kind not in request.POST.getlist("kinds")],
    )
    if "threshold" in request.POST and request.membership.role == Role.OWNER:
        alerts.low_balance_threshold_set(
            organization=request.organization, membership=request.membership, threshold=request.POST["threshold"]
        )
