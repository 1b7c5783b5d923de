"""Public API: API keys, and the catch-all that keeps unknown routes inside the envelope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.timefmt import iso, parse_iso_datetime

from . import services
from .exceptions import ResourceNotFound, ValidationFailed
from .input_checks import NUL_MESSAGE, nul_paths
from .models import ApiKey
from .openapi import LIST_PARAMETERS
from .public import PublicApiView, ok
from .scopes import ALL_SCOPES


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


class ApiKeySerializer(serializers.Serializer):
    """The documented shape of `api_key_json` (the OpenAPI contract; schemathesis checks they agree)."""

    id = serializers.CharField(help_text="Opaque id, `key_…`.")
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=["live", "test"])
    maskedKey = serializers.CharField(help_text="Prefix and last four characters, e.g. `aip_live_…abcd`.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES))
    status = serializers.ChoiceField(choices=["active", "expiring", "expired", "revoked"])
    createdAt = serializers.DateTimeField()
    lastUsedAt = serializers.DateTimeField(allow_null=True)
    expiresAt = serializers.DateTimeField(allow_null=True)
    revokedAt = serializers.DateTimeField(allow_null=True)


class ApiKeyWithSecretSerializer(ApiKeySerializer):
    secret = serializers.CharField(help_text="The full key. Shown only in this response; store it now.")


class RotatedFromSerializer(serializers.Serializer):
    id = serializers.CharField()
    expiresAt = serializers.DateTimeField(help_text="When the rotated-out key stops working.")


class RotatedKeySerializer(ApiKeyWithSecretSerializer):
    rotatedFrom = RotatedFromSerializer()


class KeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    mode = serializers.ChoiceField(choices=["live", "test"])
    scopes = serializers.MultipleChoiceField(choices=ALL_SCOPES, help_text="A non-empty subset of the scopes.")
    expiresAt = serializers.DateTimeField(required=False, allow_null=True, help_text="Optional expiry in the future.")


class KeyRotateSerializer(serializers.Serializer):
    gracePeriod = serializers.ChoiceField(choices=list(services.GRACE_PERIODS),
                                          help_text="How long the old key keeps working.")


def json_body(request: Request, *, fields: Iterable[str] | None = None) -> dict[str, Any]:
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
    bad = nul_paths(data)
    if bad:
        raise ValidationFailed(fields={path: [NUL_MESSAGE] for path in bad})
    return data


def parse_optional_datetime(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_iso_datetime(value)
    if parsed is None:
        raise ValidationFailed(fields={field: ["Must be an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z."]})
    return parsed


class _KeyView(PublicApiView):
    def acting_key(self) -> ApiKey:
        return ApiKey.objects.select_related("organization").get(pk=self.request.auth.id)

    def key_for(self, key_id: str) -> ApiKey:
        return self.get_owned(self.org_queryset(ApiKey).select_related("organization"), key_id, "API key")


class KeyListCreate(_KeyView):
    required_scope = {"GET": "read:usage", "POST": "manage:config"}

    @extend_schema(operation_id="listKeys", summary="List API keys (masked)", parameters=LIST_PARAMETERS,
                   responses=ApiKeySerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(self.org_queryset(ApiKey), api_key_json)

    @extend_schema(operation_id="createKey", summary="Create an API key (the secret is returned once)",
                   request=KeyCreateSerializer, responses={201: ApiKeyWithSecretSerializer})
    def post(self, request: Request) -> Response:
        body = json_body(request, fields=("name", "mode", "scopes", "expiresAt"))
        actor = self.acting_key()
        key, secret = services.api_key_create(
            organization=actor.organization, name=body.get("name"), mode=body.get("mode"), scopes=body.get("scopes"),
            expires_at=parse_optional_datetime(body.get("expiresAt"), "expiresAt"), actor=actor,
        )
        return ok({**api_key_json(key), "secret": secret},
                  "API key created. Store the secret now: it is shown only once.", status=201)


class KeyRevoke(_KeyView):
    required_scope = "manage:config"

    @extend_schema(operation_id="revokeKey", summary="Revoke an API key immediately", request=None,
                   responses=ApiKeySerializer)
    def post(self, request: Request, key_id: str) -> Response:
        key = services.api_key_revoke(key=self.key_for(key_id), actor=self.acting_key())
        return ok(api_key_json(key), "API key revoked.")


class KeyRotate(_KeyView):
    required_scope = "manage:config"

    @extend_schema(operation_id="rotateKey", summary="Rotate an API key with a grace window",
                   request=KeyRotateSerializer, responses={201: RotatedKeySerializer})
    def post(self, request: Request, key_id: str) -> Response:
        body = json_body(request, fields=("gracePeriod",))
        old = self.key_for(key_id)
        new, secret = services.api_key_rotate(key=old, grace=body.get("gracePeriod"), actor=self.acting_key())
        old.refresh_from_db()
        return ok(
            {**api_key_json(new), "secret": secret, "rotatedFrom": {"id": old.public_id, "expiresAt": iso(old.expires_at)}},
            "API key rotated. Store the new secret now: it is shown only once.", status=201,
        )


class OpenApiDocument(SpectacularJSONAPIView):
    """The OpenAPI description, public like the docs it describes.

    Generated once per process: it changes only with a deploy, and each generation costs a tenth of a
    second of CPU that anyone could ask for without a key.
    """

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    _document: ClassVar[dict[str, Any] | None] = None

    def _get_schema_response(self, request: Request) -> Response:
        if OpenApiDocument._document is None:
            OpenApiDocument._document = super()._get_schema_response(request).data
        return Response(OpenApiDocument._document, headers={"Content-Disposition": 'inline; filename="openapi.json"'})


class UnknownRoute(APIView):
    """Any path under the API prefix that matches no route: a 404 in the envelope, for every method."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise ResourceNotFound(f"No API route matches {request.method} {request.path}.")

    get = post = put = patch = delete = head = options = _not_found
