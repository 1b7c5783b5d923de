"""Public API: API keys, and the catch-all that keeps unknown routes inside the envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization

from . import services
from .exceptions import ResourceNotFound, ValidationFailed
from .models import ApiKey
from .public import PublicApiView, ok


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def api_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.public_id,
        "name": key.name,
        "mode": key.mode,
        "maskedKey": key.masked,
        "scopes": list(key.scopes),
        "status": key.status(),
        "createdAt": iso(key.created_at),
        "lastUsedAt": iso(key.last_used_at),
        "expiresAt": iso(key.expires_at),
        "revokedAt": iso(key.revoked_at),
    }


def json_body(request: Request) -> dict[str, Any]:
    """The parsed JSON object body (DRF raises VALIDATION_ERROR on malformed JSON)."""
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object.", fields={"body": ["Expected a JSON object."]})
    return data


def parse_optional_datetime(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValidationFailed(fields={field: ["Must be an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z."]})
    return parsed if parsed.tzinfo else timezone.make_aware(parsed, timezone.utc)


class _KeyView(PublicApiView):
    def acting_key(self) -> ApiKey:
        return ApiKey.objects.select_related("organization").get(pk=self.request.auth.id)

    def key_for(self, key_id: str) -> ApiKey:
        return self.get_owned(self.org_queryset(ApiKey).select_related("organization"), key_id, "API key")


class KeyListCreate(_KeyView):
    required_scope = {"GET": "read:usage", "POST": "manage:config"}

    def get(self, request: Request) -> Response:
        return self.paginate(self.org_queryset(ApiKey), api_key_json)

    def post(self, request: Request) -> Response:
        body = json_body(request)
        actor = self.acting_key()
        key, secret = services.api_key_create(
            organization=actor.organization, name=body.get("name"), mode=body.get("mode"), scopes=body.get("scopes"),
            expires_at=parse_optional_datetime(body.get("expiresAt"), "expiresAt"), actor=actor,
        )
        return ok({**api_key_json(key), "secret": secret},
                  "API key created. Store the secret now: it is shown only once.", status=201)


class KeyRevoke(_KeyView):
    required_scope = "manage:config"

    def post(self, request: Request, key_id: str) -> Response:
        key = services.api_key_revoke(key=self.key_for(key_id), actor=self.acting_key())
        return ok(api_key_json(key), "API key revoked.")


class KeyRotate(_KeyView):
    required_scope = "manage:config"

    def post(self, request: Request, key_id: str) -> Response:
        body = json_body(request)
        old = self.key_for(key_id)
        new, secret = services.api_key_rotate(key=old, grace=body.get("gracePeriod"), actor=self.acting_key())
        old.refresh_from_db()
        return ok(
            {**api_key_json(new), "secret": secret, "rotatedFrom": {"id": old.public_id, "expiresAt": iso(old.expires_at)}},
            "API key rotated. Store the new secret now: it is shown only once.", status=201,
        )


class UnknownRoute(APIView):
    """Any path under the API prefix that matches no route: a 404 in the envelope, for every method."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise ResourceNotFound(f"No API route matches {request.method} {request.path}.")

    get = post = put = patch = delete = head = options = _not_found
