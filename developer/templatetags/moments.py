"""One way to show a moment on the dashboard: `{{ value|moment }}`.

It renders `<time datetime="…Z" title="… UTC" data-moment="…">` whose text is the moment in the active
timezone (the organisation's, set by `dashboard_view`) with its abbreviation; static/js/app.js rewrites
the text into the viewer's own zone (still with its abbreviation), so without JavaScript the page
still reads correctly. Hovering shows UTC."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from core.timefmt import in_utc, iso

register = template.Library()

# style -> server-side format (the same fields the browser is asked for)
_FORMATS = {
    "datetime": "M j, Y, H:i T",
    "seconds": "M j, Y, H:i:s T",
    "date": "M j, Y",
}


@register.filter
def moment(value: datetime | None, style: str = "datetime") -> str:
    if not isinstance(value, datetime):
        return "—" if value is None else str(value)
    style = style if style in _FORMATS else "datetime"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    utc = in_utc(value) if timezone.is_aware(value) else value
    return format_html(
        '<time datetime="{}" title="{}" data-moment="{}">{}</time>',
        iso(value) if timezone.is_aware(value) else value.isoformat(),
        date_format(utc, "Y-m-d H:i:s") + " UTC",
        style,
        date_format(local, _FORMATS[style]),
    )


@register.filter
def utc_title(value: datetime | None) -> str:
    """The UTC reading of a moment shown another way (e.g. "3 hours ago"), for a title attribute."""
    if not isinstance(value, datetime):
        return ""
    return date_format(in_utc(value) if timezone.is_aware(value) else value, "Y-m-d H:i:s") + " UTC"
