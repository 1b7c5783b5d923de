"""The base of every public-API view, the small helpers views share, and the catch-all for unknown routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.timefmt import parse_iso_datetime
from developer.logging import redact_path

from .apicount import count_api_request
from .exceptions import InsufficientCredits, PayloadTooLarge, ResourceNotFound, ValidationFailed
from .idempotency import WRITE_METHODS, idempotent
from .input_checks import bad_query_parameters
from .pagination import KeysetPagination
from .requests import ApiRequest, ApiResponse, as_api_request


class PublicApiView(APIView):
    """Runs the contract's checks in order, then the view.

    DRF's `initial` authenticates (API_KEY_REQUIRED, INVALID_API_KEY), checks permissions (the gate,
    then the scope) and throttles (RATE_LIMIT_EXCEEDED); the credit check comes last because a
    rate-limited caller must learn about the limit before it learns about its balance.
    """

    request: ApiRequest
    required_scope: ClassVar[str | dict[str, str] | None] = None
    # api_settings imports the configured class; the stubs type the setting as its dotted path.
    pagination_class = cast("type[KeysetPagination]", api_settings.DEFAULT_PAGINATION_CLASS)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every write honours Idempotency-Key, so a client may retry any of them after a lost answer:
        # each POST/PUT/PATCH/DELETE a view defines is wrapped here, not opted into view by view.
        super().__init_subclass__(**kwargs)
        for method in WRITE_METHODS:
            handler = cls.__dict__.get(method)
            if handler is not None:
                setattr(cls, method, idempotent(handler))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        _refuse_oversized_body(request)
        super().initial(request, *args, **kwargs)
        request = as_api_request(request)
        if request.auth.is_live and not request.access_state.has_credits:
            raise InsufficientCredits()
        bad = bad_query_parameters(request.query_params)
        if bad:
            raise ValidationFailed(fields={name: [problem] for name, problem in bad.items()})

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request._request, "rate_limit", None)
        if decision is not None:
            response["X-RateLimit-Limit"] = str(decision.limit)
            response["X-RateLimit-Remaining"] = str(decision.remaining)
            response["X-RateLimit-Reset"] = str(decision.reset_at)
        count_api_request(request, response)  # a Redis counter (or in-memory buffer), no DB write
        return response

    # Tenancy: every lookup starts from the caller's organisation; another business's id is a 404.
    def org_queryset(self, model: type[Model]) -> QuerySet:
        return model._default_manager.filter(organization_id=self.request.auth.organization_id)

    def get_owned(self, queryset: QuerySet, public_id: str, what: str = "resource") -> Any:
        # No id contains NUL, and PostgreSQL cannot even compare text holding one.
        obj = queryset.filter(public_id=public_id).first() if "\x00" not in public_id else None
        if obj is None:
            raise ResourceNotFound(f"No {what} with id '{public_id}' exists in this organization.")
        return obj

    def paginate(self, queryset: QuerySet, serialize: Any) -> ApiResponse:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response([serialize(row) for row in rows])


def _refuse_oversized_body(request: Request) -> None:
    """A declared body over `API_MAX_BODY_BYTES` is a 413 before anything reads it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.API_MAX_BODY_BYTES:
        raise PayloadTooLarge.for_limit(settings.API_MAX_BODY_BYTES)


def ok(data: Any, message: str = "OK", status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = ApiResponse(data, status=status, headers=headers)
    response.message = message
    return response


def json_body(request: ApiRequest, *, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The parsed JSON object body (DRF raises VALIDATION_ERROR on malformed JSON).

    With `fields`, any other field is refused, so a misspelt optional field (`expires_at`) is an error
    rather than silently ignored. Views whose service checks unknown fields itself pass none.
    """
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object.", fields={"body": ["Expected a JSON object."]})
    unknown = sorted(set(data) - set(fields)) if fields is not None else []
    if unknown:
        raise ValidationFailed(fields={name: ["Unknown field."] for name in unknown})
    return data  # NULs, lone surrogates and deep nesting were refused by the parser


def body_kwargs(
    body: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    refusal: str | Callable[[str], str] = "Unknown field.",
    check: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """A JSON body (from `json_body`) as a service's snake_case keyword arguments.

    `fields` maps each wire (camelCase) name to its keyword (a service module's `*_FIELDS`). Any other
    field is refused with `refusal` (a message, or a function of the field name), every one at once and
    in body order. With `check`, the errors `check(**kwargs)` finds in the accepted fields are reported
    alongside the refusals, for services whose answer names every bad field together.
    """
    unknown = [name for name in body if name not in fields]
    kwargs = {fields[name]: value for name, value in body.items() if name in fields}
    if unknown:
        errors = {name: [refusal(name) if callable(refusal) else refusal] for name in unknown}
        if check is not None:
            try:
                check(**kwargs)
            except ValidationError as exc:
                errors.update(exc.message_dict)
        raise ValidationFailed(fields=errors)
    return kwargs


def parse_optional_datetime(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_iso_datetime(value)
    if parsed is None:
        raise ValidationFailed(fields={field: ["Must be an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z."]})
    return parsed


class OpenApiDocument(SpectacularJSONAPIView):
    """The OpenAPI description, public like the docs it describes.

    Generated once per process: it changes only with a deploy, and each generation costs a tenth of a
    second of CPU that anyone could ask for without a key.
    """

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    _document: ClassVar[dict[str, Any] | None] = None

    def _get_schema_response(self, request: ApiRequest) -> Response:
        if OpenApiDocument._document is None:
            OpenApiDocument._document = super()._get_schema_response(request).data
        return Response(OpenApiDocument._document, headers={"Content-Disposition": 'inline; filename="openapi.json"'})


class UnknownRoute(APIView):
    """Any path under the API prefix that matches no route: a 404 in the envelope, for every method."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise ResourceNotFound(f"No API route matches {request.method} {redact_path(request.path)}.")

    get = post = put = patch = delete = head = options = _not_found
