"""Public API: API keys."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core import rotation
from core.timefmt import iso

from . import services
from .models import ApiKey
from .payloads import api_key_json
from .public_api.base import PublicApiView, json_body, ok, parse_optional_datetime
from .public_api.openapi import LIST_PARAMETERS
from .public_api.requests import ApiRequest
from .scopes import ALL_SCOPES


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
    gracePeriod = serializers.ChoiceField(
        choices=list(rotation.WINDOWS), help_text="How long the old key keeps working."
    )


class _KeyView(PublicApiView):
    def acting_key(self) -> ApiKey:
        return ApiKey.objects.select_related("organization").get(pk=self.request.auth.id)

    def key_for(self, key_id: str) -> ApiKey:
        return self.get_owned(self.org_queryset(ApiKey).select_related("organization"), key_id, "API key")


class KeyListCreate(_KeyView):
    required_scope = {"GET": "read:usage", "POST": "manage:config"}

    @extend_schema(
        operation_id="listKeys",
        summary="List API keys (masked)",
        parameters=LIST_PARAMETERS,
        responses=ApiKeySerializer(many=True),
    )
    def get(self, request: ApiRequest) -> Response:
        return self.paginate(self.org_queryset(ApiKey), api_key_json)

    @extend_schema(
        operation_id="createKey",
        summary="Create an API key (the secret is returned once)",
        request=KeyCreateSerializer,
        responses={201: ApiKeyWithSecretSerializer},
    )
    def post(self, request: ApiRequest) -> Response:
        body = json_body(request, fields=("name", "mode", "scopes", "expiresAt"))
        actor = self.acting_key()
        key, secret = services.api_key_create(
            organization=actor.organization,
            name=body.get("name"),
            mode=body.get("mode"),
            scopes=body.get("scopes"),
            expires_at=parse_optional_datetime(body.get("expiresAt"), "expiresAt"),
            actor=actor,
        )
        return ok(
            {**api_key_json(key), "secret": secret},
            "API key created. Store the secret now: it is shown only once.",
            status=201,
        )


class KeyDetail(_KeyView):
    required_scope = "read:usage"

    @extend_schema(operation_id="getKey", summary="Retrieve an API key (masked)", responses=ApiKeySerializer)
    def get(self, request: ApiRequest, key_id: str) -> Response:
        """One key of the business, live or test, masked as in the list: the secret is never shown again."""
        return ok(api_key_json(self.key_for(key_id)))


class KeyRevoke(_KeyView):
    required_scope = "manage:config"

    @extend_schema(
        operation_id="revokeKey", summary="Revoke an API key immediately", request=None, responses=ApiKeySerializer
    )
    def post(self, request: ApiRequest, key_id: str) -> Response:
        key = services.api_key_revoke(key=self.key_for(key_id), actor=self.acting_key())
        return ok(api_key_json(key), "API key revoked.")


class KeyRotate(_KeyView):
    required_scope = "manage:config"

    @extend_schema(
        operation_id="rotateKey",
        summary="Rotate an API key with a grace window",
        request=KeyRotateSerializer,
        responses={201: RotatedKeySerializer},
    )
    def post(self, request: ApiRequest, key_id: str) -> Response:
        body = json_body(request, fields=("gracePeriod",))
        old = self.key_for(key_id)
        new, secret = services.api_key_rotate(key=old, grace=body.get("gracePeriod"), actor=self.acting_key())
        old.refresh_from_db()
        return ok(
            {
                **api_key_json(new),
                "secret": secret,
                "rotatedFrom": {"id": old.public_id, "expiresAt": iso(old.expires_at)},
            },
            "API key rotated. Store the new secret now: it is shown only once.",
            status=201,
        )
