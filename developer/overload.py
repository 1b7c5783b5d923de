"""Answers the requests the web worker chose to shed (config/gunicorn_worker.py): 503 at once.

The API gets its envelope with `SERVICE_UNAVAILABLE` and `Retry-After`, so SDKs back off and retry;
the dashboard gets a short page. Health and metrics probes are always served, so a load balancer
does not take a busy but healthy process out of rotation.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from .public_api.exceptions import json_error
from .public_api.request_log import API_PATH_PREFIX

# Written into environ by config.gunicorn_worker.SheddingWorker: "busy", "queued" or None.
SHED_KEY = "aiphone360.shed"
QUEUE_SECONDS_KEY = "aiphone360.queue_seconds"
RETRY_AFTER_SECONDS = 1
ALWAYS_SERVED = ("/healthz", "/readyz", "/metrics")


def overloaded_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PATH_PREFIX):
        response: HttpResponse = json_error(
            request,
            status_code=503,
            code="SERVICE_UNAVAILABLE",
            message="The service is busy. Retry after the number of seconds in Retry-After.",
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Answered before CommonMiddleware: without a length gunicorn would chunk or close the connection.
    response["Content-Length"] = str(len(response.content))
    return response


class OverloadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get(SHED_KEY) and not request.path.startswith(ALWAYS_SERVED):
            return overloaded_response(request)
        return self.get_response(request)
