"""Keyset pagination shared by every list: newest first on (timestamp, public id), opaque cursor.

Rows inserted between two page fetches never shift a later page, so there are no duplicates or
gaps, and a page deep in the list costs the same index range scan as the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request

from core.cursor import InvalidCursor, decode_cursor, encode_cursor, keyset_after

from .exceptions import ValidationFailed
from .requests import ApiResponse

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed(fields={"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return int(raw)


class KeysetPagination(BasePagination):
    """`paginate_queryset` orders by `view.cursor_field` (default created_at) then public_id, descending."""

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: Any = None
    ) -> list[Any]:
        if not isinstance(queryset, QuerySet):
            raise TypeError("Keyset pagination pages a QuerySet, not a sequence.")
        self.limit = parse_limit(request.query_params.get("limit"))
        self.field = getattr(view, "cursor_field", "created_at")
        cursor = request.query_params.get("cursor")
        if cursor:
            try:
                value, public_id = decode_cursor(cursor)
            except InvalidCursor as exc:
                raise ValidationFailed(fields={"cursor": [str(exc)]}) from exc
            queryset = keyset_after(queryset, value, public_id, time_field=self.field)
        rows = list(queryset.order_by(f"-{self.field}", "-public_id")[: self.limit + 1])
        self.has_more = len(rows) > self.limit
        rows = rows[: self.limit]
        last = rows[-1] if rows else None
        self.next_cursor = encode_cursor(getattr(last, self.field), last.public_id) if self.has_more and last else None
        return rows

    def get_paginated_response(self, data: list[Any]) -> ApiResponse:
        response = ApiResponse(data)
        response.pagination = {"nextCursor": self.next_cursor, "hasMore": self.has_more, "limit": self.limit}
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["success", "data", "pagination", "message"],
            "properties": {
                "success": {"type": "boolean", "enum": [True]},
                "data": schema,
                "pagination": {
                    "type": "object",
                    "required": ["nextCursor", "hasMore", "limit"],
                    "properties": {
                        "nextCursor": {"type": "string", "nullable": True},
                        "hasMore": {"type": "boolean"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    },
                },
                "message": {"type": "string"},
            },
        }
