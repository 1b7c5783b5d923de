"""Settings → Developer navigation. An item shows only when its URL name reverses, so pages that a
later issue has not built yet never appear as dead links. Apps add their page by URL name here."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    managers_only: bool = False  # hidden from viewers (their GET would be a 403 anyway)


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("API keys", "developer:keys"),
    NavItem("Request logs", "developer:logs"),
    NavItem("Webhooks", "webhooks:endpoints"),
    NavItem("Custom tools", "agents:tools"),
    NavItem("Agents", "agents:agents"),
    NavItem("Usage", "usage:usage"),
    NavItem("Access", "developer:access"),
    NavItem("API reference", "developer:docs"),
    NavItem("Audit log", "developer:audit", managers_only=True),
    NavItem("Members", "developer:members"),
    NavItem("Sign-in & security", "developer:security"),
    NavItem("Alerts", "ops:alert_settings", managers_only=True),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool


def nav_links(request: HttpRequest) -> list[NavLink]:
    membership = getattr(request, "membership", None)
    can_manage = bool(membership and membership.can_manage)
    links: list[NavLink] = []
    for item in NAV_ITEMS:
        if item.managers_only and not can_manage:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        links.append(NavLink(item.label, url, active=request.path.startswith(url)))
    return links


def dashboard_context(request: HttpRequest) -> dict[str, object]:
    """Template context for the layout (a context processor): nav links and the acting organisation."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "nav_links": nav_links(request),
        "current_membership": membership,
        "current_organization": membership.organization,
        "can_manage": membership.can_manage,
        "several_organizations": membership.user.memberships.count() > 1,
        # The "Viewing test data" switch and its banner (developer/base.html).
        "viewing_test_data": membership.viewing_mode == "test",
    }
