"""Settings → Developer → API reference: the OpenAPI document rendered by Redoc.

Redoc comes from the drf-spectacular-sidecar package and is served by whitenoise like every other
asset, so the page works with no CDN. The document itself is public at /api/public/v1/openapi.json.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from developer.dashboard import HtmxHttpRequest, dashboard_view

# Everything from this origin. Redoc styles with inline <style> and style attributes and runs its search
# in a blob: worker. Images from elsewhere are refused: Redoc's footer would fetch its logo from a CDN.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)


@require_GET
@dashboard_view
def api_docs(request: HtmxHttpRequest) -> HttpResponse:
    schema_path = reverse("openapi")
    response = render(
        request,
        "developer/api_docs.html",
        {
            "schema_url": schema_path,
            "api_base_url": request.build_absolute_uri(schema_path).removesuffix("/openapi.json"),
        },
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
