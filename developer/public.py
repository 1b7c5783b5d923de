"""The base of every public-API view and the small helpers views share."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from billing.metering import count_api_request

from .exceptions import InsufficientCredits, ResourceNotFound, ValidationFailed
from .input_checks import NUL_MESSAGE, nul_query_parameters
from .requests import ApiRequest, ApiResponse, as_api_request


class PublicApiView(APIView):
    """Runs the contract's checks in order, then the view.

    DRF's `initial` authenticates (API_KEY_REQUIRED, INVALID_API_KEY), checks permissions (the gate,
    then the scope) and throttles (RATE_LIMIT_EXCEEDED); the credit check comes last because a
    rate-limited caller must learn about the limit before it learns about its balance.
    """

    request: ApiRequest
    required_scope: ClassVar[str | dict[str, str] | None] = None
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request = as_api_request(request)
        if request.auth.is_live and not request.access_state.has_credits:
            raise InsufficientCredits()
        bad = nul_query_parameters(request.query_params)
        if bad:
            raise ValidationFailed(fields={name: [NUL_MESSAGE] for name in bad})

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request._request, "rate_limit", None)
        if decision is not None:
            response["X-RateLimit-Limit"] = str(decision.limit)
            response["X-RateLimit-Remaining"] = str(decision.remaining)
            response["X-RateLimit-Reset"] = str(decision.reset_at)
        count_api_request(request, response)  # billing: a Redis counter (or in-memory buffer), no DB write
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

    def paginate(self, queryset: QuerySet, serialize: Any) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response([serialize(row) for row in rows])


def ok(data: Any, message: str = "OK", status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = ApiResponse(data, status=status, headers=headers)
    response.message = message
    return response
