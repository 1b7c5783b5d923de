"""Every public-API failure becomes `{success:false, error:{message, code, status, requestId}}`."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import ServiceError

from .requests import ApiResponse

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with one of the public contract's stable codes."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message or self.default_detail)
        self.fields = fields


class ApiKeyRequired(ApiError):
    status_code, code = 401, "API_KEY_REQUIRED"
    default_detail = "No API key supplied. Send it as 'Authorization: Bearer <key>' or in the 'x-api-key' header."


class InvalidApiKey(ApiError):
    status_code, code = 401, "INVALID_API_KEY"
    default_detail = "The API key is not valid: it is unknown, revoked or expired."


class SubscriptionRequired(ApiError):
    status_code, code = 402, "SUBSCRIPTION_REQUIRED"
    default_detail = "This organization has no active paid subscription (BASIC, PRO or ENTERPRISE)."


class PlatformAddonRequired(ApiError):
    status_code, code = 402, "PLATFORM_ADDON_REQUIRED"
    default_detail = (
        "The Developer Platform add-on is not enabled for this organization. Request access in Settings → Developer."
    )


class InsufficientCredits(ApiError):
    status_code, code = 402, "INSUFFICIENT_CREDITS"
    default_detail = "The wallet is out of credits. Add funds to resume live requests; test keys keep working."


class InsufficientScope(ApiError):
    status_code, code = 403, "INSUFFICIENT_SCOPE"
    default_detail = "This API key lacks the scope this endpoint requires."


class BusinessSuspended(ApiError):
    status_code, code = 403, "BUSINESS_SUSPENDED"
    default_detail = "This organization is suspended. Contact AI Phone 360 support."


class ResourceNotFound(ApiError):
    status_code, code = 404, "RESOURCE_NOT_FOUND"
    default_detail = "The resource does not exist."


class ValidationFailed(ApiError):
    status_code, code = 400, "VALIDATION_ERROR"
    default_detail = "The request failed validation."


class PayloadTooLarge(ApiError):
    status_code, code = 413, "PAYLOAD_TOO_LARGE"
    default_detail = "The request body is too large."

    @classmethod
    def for_limit(cls, limit: int) -> PayloadTooLarge:
        return cls(f"The request body is larger than the limit of {limit} bytes.")


class RateLimitExceeded(ApiError):
    status_code, code = 429, "RATE_LIMIT_EXCEEDED"
    default_detail = "Too many requests. Back off and retry after the number of seconds in Retry-After."

    def __init__(self, wait: float, message: str | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as `{"tools.useCustomToolIds[1]": ["..."]}`."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                name = prefix or "body"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "body": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_errors(item, f"{prefix}[{index}]"))
        return flat
    return {prefix or "body": [str(detail)]}


def _validation_message(fields: dict[str, list[str]]) -> str:
    parts = [f"{name}: {messages[0]}" for name, messages in fields.items()]
    return "Validation failed — " + "; ".join(parts) if parts else "The request failed validation."


def error_body(
    *, message: str, code: str, status_code: int, request_id: str | None, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "code": code, "status": status_code, "requestId": request_id}
    if fields:
        error["fields"] = fields
    return {"success": False, "error": error}


def _request_id(request: Any) -> str | None:
    request = getattr(request, "_request", request)
    return getattr(request, "request_id", None)


def _classify(exc: Exception) -> tuple[int, str, str, dict[str, list[str]] | None, float | None]:
    if isinstance(exc, RateLimitExceeded):
        return exc.status_code, exc.code, str(exc.detail), None, exc.wait
    if isinstance(exc, ApiError):
        message = str(exc.detail)
        if exc.fields and message == exc.default_detail:
            message = _validation_message(exc.fields)
        return exc.status_code, exc.code, message, exc.fields, None
    if isinstance(exc, RequestDataTooBig):  # Django's own limit, should a view read `request.body`
        return 413, PayloadTooLarge.code, PayloadTooLarge.default_detail, None, None
    if isinstance(exc, ServiceError):
        return exc.status, exc.code, exc.message, None, None
    if isinstance(exc, (exceptions.ValidationError, DjangoValidationError)):
        detail = (
            exc.detail
            if isinstance(exc, exceptions.ValidationError)
            else (exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages})
        )
        fields = flatten_errors(detail)
        return 400, "VALIDATION_ERROR", _validation_message(fields), fields, None
    if isinstance(exc, exceptions.ParseError):
        return 400, "VALIDATION_ERROR", f"Malformed request body: {exc.detail}", None, None
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return (
            415,
            "VALIDATION_ERROR",
            "Send the request body as JSON with 'Content-Type: application/json'.",
            None,
            None,
        )
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return 404, "RESOURCE_NOT_FOUND", "The resource does not exist.", None, None
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, "METHOD_NOT_ALLOWED", str(exc.detail), None, None
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, "NOT_ACCEPTABLE", "This API only responds with application/json.", None, None
    if isinstance(exc, exceptions.Throttled):
        return 429, "RATE_LIMIT_EXCEEDED", RateLimitExceeded.default_detail, None, getattr(exc, "wait", None)
    if isinstance(exc, (exceptions.NotAuthenticated,)):
        return 401, "API_KEY_REQUIRED", ApiKeyRequired.default_detail, None, None
    if isinstance(exc, exceptions.AuthenticationFailed):
        return 401, "INVALID_API_KEY", InvalidApiKey.default_detail, None, None
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return 403, "INSUFFICIENT_SCOPE", str(exc) or InsufficientScope.default_detail, None, None
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, "REQUEST_FAILED", str(exc.detail), None, None
    return 500, "INTERNAL_ERROR", "An unexpected error occurred. Give the requestId to support.", None, None


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    status_code, code, message, fields, wait = _classify(exc)
    if status_code >= 500:
        logger.exception("Unhandled error in public API request %s", _request_id(request), exc_info=exc)
    response = ApiResponse(
        error_body(message=message, code=code, status_code=status_code, request_id=_request_id(request), fields=fields),
        status=status_code,
    )
    response.enveloped = True
    response.error_code = code
    if wait is not None:
        response["Retry-After"] = str(max(1, math.ceil(wait)))
    if status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def json_error(request: HttpRequest, *, status_code: int, code: str, message: str) -> JsonResponse:
    """The envelope for failures that happen outside DRF (Django's 404/500 handlers)."""
    return JsonResponse(
        error_body(
            message=message, code=code, status_code=status_code, request_id=getattr(request, "request_id", None)
        ),
        status=status_code,
    )
