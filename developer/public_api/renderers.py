from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request


class EnvelopeRenderer(JSONRenderer):
    """Wraps a view's payload in `{success, data, pagination?, message}`; errors arrive pre-enveloped."""

    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and not getattr(response, "enveloped", False):
            body: dict[str, Any] = {"success": True, "data": data}
            pagination = getattr(response, "pagination", None)
            if pagination is not None:
                body["pagination"] = pagination
            body["message"] = getattr(response, "message", "OK")
            data = body
        return super().render(data, accepted_media_type, renderer_context)


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The API speaks one format: answer JSON whatever `Accept` says, without parsing it per request.

    Request bodies are still matched on Content-Type (a non-JSON body is a 415)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))  # DRF passes the view's renderer list
        return renderer, renderer.media_type
