"""Template context for the access-state banner every Settings → Developer page shows.

The banner is lazy: it is worked out only when a template renders it (full pages, not htmx
partials), from the gate's cached state; the request table is read only while the organisation
waits for the add-on (see `access_status.needs_request_lookup`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.models import Membership, Organization
from billing.access import AccessState, access_state

from .access_status import QUALIFYING_PLANS, Step, access_step, needs_request_lookup, plan_list
from .models import AccessRequest


@dataclass(frozen=True)
class AccessBanner:
    step: str
    state: AccessState
    latest_request: AccessRequest | None
    qualifying_plans: str

    @property
    def blocked(self) -> bool:
        """Whether anything stands between the organisation and its API keys working."""
        return self.step != Step.GRANTED


def access_banner_for(organization: Organization) -> AccessBanner:
    state = access_state(organization.pk)
    latest = None
    if needs_request_lookup(
        suspended=state.suspended, subscription_active=state.subscription_active, addon_active=state.addon_active
    ):
        latest = AccessRequest.objects.filter(organization=organization).select_related("requested_by").first()
    step = access_step(
        suspended=state.suspended,
        subscription_active=state.subscription_active,
        addon_active=state.addon_active,
        has_credits=state.has_credits,
        latest_request_status=latest.status if latest else None,
    )
    return AccessBanner(
        step=step.value, state=state, latest_request=latest, qualifying_plans=plan_list(QUALIFYING_PLANS)
    )


def access_banner(request: HttpRequest) -> dict[str, object]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    organization = membership.organization
    banner = SimpleLazyObject(lambda: access_banner_for(organization))

    def show_access_banner() -> bool:
        """Called by the layout only when it renders the banner: a warning shows on every page until it is
        resolved; "Access granted" shows once per person, then stays on the Access page only."""
        if banner.step != Step.GRANTED:
            return True
        if membership.access_granted_seen_at is not None:
            return False
        Membership.objects.filter(pk=membership.pk, access_granted_seen_at=None).update(
            access_granted_seen_at=timezone.now()
        )
        return True

    return {"access_banner": banner, "show_access_banner": show_access_banner}
