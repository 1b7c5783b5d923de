"""Error reports to Sentry when `SENTRY_DSN` is set, scrubbed before they leave the process.

`scrub` (the SDK's `before_send`, also applied to breadcrumbs) removes API keys (`aip_…`), webhook
signing secrets (`whsec_…`), Authorization and API-key headers, cookies, and every message body: request
bodies, SMS text, webhook payloads and tool arguments never reach the error tracker, whichever
variable or field they sat in. `send_default_pii` stays off (no user e-mail or IP).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from developer.logging import redact, redact_path

if TYPE_CHECKING:
    from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

FILTERED = "[Filtered]"
# Headers whose value is a credential (compared lower-case, `-` and `_` alike).
_SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization", "x-aip-signature", "x-csrftoken"}
)
# Keys whose value is a message body or a secret, wherever they appear (request data, locals, extras).
_BODY_KEYS = re.compile(
    r"(?i)^(body|raw_?body|request_?body|data|text|message_?body|content|payload|arguments|response_?body"
    r"|response_?excerpt|request_?headers|secret|secrets|previous_?secret|password|token|credentials?|api_?key"
    r"|signature|signing_?secrets?|auth_?value)$"
)
_MAX_DEPTH = 20


def _header_name(name: str) -> str:
    name = name.lower().replace("_", "-")
    return name[5:] if name.startswith("http-") else name


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return FILTERED
    if isinstance(value, str):
        return redact(redact_path(value))
    if isinstance(value, dict):
        return {
            key: FILTERED
            if isinstance(key, str) and (_BODY_KEYS.match(key) or _header_name(key) in _SECRET_HEADERS)
            else _clean(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(item, depth + 1) for item in value]
    return value


def scrub(event: Event, hint: Hint | None = None) -> Event:
    """Sentry's `before_send`: the event with every secret and message body removed."""
    request: Any = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)  # the request body, whatever its keys
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: FILTERED if _header_name(name) in _SECRET_HEADERS else _clean(value)
                for name, value in headers.items()
            }
        elif isinstance(headers, list):  # [[name, value], ...]
            request["headers"] = [
                [pair[0], FILTERED if _header_name(str(pair[0])) in _SECRET_HEADERS else _clean(pair[1])]
                for pair in headers
                if isinstance(pair, list | tuple) and len(pair) == 2
            ]
    return cast("Event", _clean(event))


def scrub_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint | None = None) -> Breadcrumb:
    return cast("Breadcrumb", _clean(crumb))


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=True,
        before_send=scrub,
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces_sample_rate,
    )
