"""Settings → Developer → API reference: the OpenAPI document rendered by Redoc.

Redoc comes from the drf-spectacular-sidecar package and is served by whitenoise like every other
asset, so the page works with no CDN. The document itself is public at /api/public/v1/openapi.json.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.headers import content_security_policy
from developer.dashboard import HtmxHttpRequest, dashboard_view

# The site's policy plus what Redoc needs: it styles with inline <style> and style attributes, embeds
# fonts as data: URLs and runs its search in a blob: worker. Scripts stay 'self' only, and images from
# elsewhere are still refused (Redoc's footer would fetch its logo from a CDN).
REDOC_POLICY = {
    "style-src": ["'unsafe-inline'"],
    "font-src": ["data:"],
    "worker-src": ["'self'", "blob:"],
}


@require_GET
@dashboard_view
@content_security_policy(REDOC_POLICY)
def api_docs(request: HtmxHttpRequest) -> HttpResponse:
    schema_path = reverse("openapi")
    return render(
        request,
        "developer/api_docs.html",
        {
            "schema_url": schema_path,
            "api_base_url": request.build_absolute_uri(schema_path).removesuffix("/openapi.json"),
        },
    )
