import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .requests import ApiHttpRequest


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


class RequestIdMiddleware:
    """Gives every request an id, returned in `X-Request-Id` (and in API error bodies) for support."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: ApiHttpRequest) -> HttpResponse:
        request.request_id = new_request_id()
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response
