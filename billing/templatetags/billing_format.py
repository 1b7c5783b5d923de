"""Template filters for money and metric names, formatted exactly as the API formats them."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing.models import Metric
from billing.quota import money as money_text

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """ "$1,234.50": grouped dollars, at least two decimals, sub-cent prices kept exact."""
    if value is None:
        return "—"
    text = money_text(value)
    whole, _, frac = text.lstrip("-").partition(".")
    sign = "-" if text.startswith("-") else ""
    return f"{sign}${int(whole):,}.{frac}"


@register.filter
def metric_label(value: str) -> str:
    try:
        return Metric(value).label
    except ValueError:
        return value
