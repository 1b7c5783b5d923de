"""Blocks a developer copies: JSON pretty-printed on the server, and the one shared copy button.

`{{ body|pretty_json }}` indents JSON (a string of it, or a dict or list) and leaves anything else as it
was; the result is ordinary text, so the template still escapes it. `{% copy_button "element-id" label="the
event payload" %}` renders templates/includes/copy_button.html next to the element whose text it copies.
"""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value  # not JSON (a plain-text error body, an HTML page): shown as it came
        if not isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def header_lines(headers: Any) -> str:
    """HTTP headers ({name: value}) as the "Name: value" lines they travel as."""
    if not headers:
        return ""
    return "\n".join(f"{name}: {value}" for name, value in dict(headers).items())


@register.inclusion_tag("includes/copy_button.html")
def copy_button(*target_parts: Any, label: str) -> dict[str, str]:
    """A "Copy" button for the element whose id is the parts joined with "-"
    (`{% copy_button "attempt" attempt.number "body" label="the request body" %}`);
    `label` finishes "Copy …" for screen readers."""
    return {"target": "-".join(str(part) for part in target_parts), "label": label}
