"""How the dashboard shows money and runway to a person (the API keeps the exact amounts):
totals to the cent, unit prices to 4 decimals, and a runway past a year as "more than a year"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


def _dollars(value: Decimal, places: int) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.{places}f}"


@register.filter
def cents(value: Decimal | None) -> str:
    """ "$24.96" for $24.9605: an amount a person reads, rounded half-up to the cent."""
    return "—" if value is None else _dollars(Decimal(value), 2)


@register.filter
def unit_price(value: Decimal | None) -> str:
    """ "$0.0075": a price per unit, to 4 decimals."""
    return "—" if value is None else _dollars(Decimal(value), 4)


@register.filter
def runway(days: Decimal | None) -> str:
    if days is None:
        return "No spend in the last 7 days"
    days = Decimal(days)
    if days > 365:
        return "More than a year"
    whole = int(days.to_integral_value(rounding="ROUND_FLOOR"))
    return f"{whole} day{'s' if whole != 1 else ''}"
