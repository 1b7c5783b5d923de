"""`{% ops_notices %}`: the open alerts of the member's organisation, for the dashboard layout."""

from __future__ import annotations

from typing import Any

from django import template

from ops.alerts import notices_for

register = template.Library()


@register.inclusion_tag("ops/notices.html", takes_context=True)
def ops_notices(context: Any) -> dict[str, Any]:
    membership = context.get("current_membership")
    return {"notices": notices_for(membership) if membership is not None else []}
