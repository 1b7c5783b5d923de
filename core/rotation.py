"""Rotation windows: how long an old credential keeps working after it is replaced.

One set of choices serves every rotation on the platform: an API key's ``gracePeriod``, a webhook
endpoint's secret ``overlap`` and the tool-call signing secret's ``overlap``. The keys are the
values accepted on the wire (the OpenAPI ``GracePeriodEnum`` is generated from ``WINDOWS``).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError

# Wire value → how long the previous credential stays valid. "now" retires it at once.
WINDOWS: dict[str, timedelta] = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
}
# What the dashboards show for each window, in the same order.
LABELS: dict[str, str] = {
    "now": "Immediately",
    "1h": "In 1 hour",
    "24h": "In 24 hours",
    "3d": "In 3 days",
    "7d": "In 7 days",
}
DEFAULT = "24h"


def window(value: object, *, field: str) -> timedelta:
    """The window named by ``value``, or a validation error on ``field`` (400 VALIDATION_ERROR)."""
    if not isinstance(value, str) or value not in WINDOWS:  # a JSON object is unhashable
        raise ValidationError({field: [f"Must be one of: {', '.join(WINDOWS)}."]})
    return WINDOWS[value]
