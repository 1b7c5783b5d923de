"""API-key authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`.

A warm request resolves the key from the cache by the SHA-256 of the secret, without a query.
Revoking or rotating a key deletes its cache entry (see services), so the change is seen by every
process on the next request. Failed guesses are limited per client IP.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from billing.access import ACCESS_CACHE_PREFIX
from core import fastcache
from core.ratelimit import limiter
from developer.keys import hash_secret, mode_of
from developer.models import ApiKey

from .apicount import api_request_counter_hash
from .exceptions import ApiKeyRequired, InvalidApiKey, RateLimitExceeded
from .principal import KeyPrincipal, principal_for
from .requests import ApiRequest, as_api_request
from .throttling import KeyRateThrottle


def key_cache_key(key_hash: str) -> str:
    return f"apikey:v1:{key_hash}"


LAST_USED_CLAIM_PREFIX = "apikey:used:"


def required_scope(view: Any, method: str | None) -> str | None:
    """The scope a view demands for a method (`required_scope`, per method via a dict when they differ)."""
    scope = getattr(view, "required_scope", None)
    return scope.get(method) if isinstance(scope, dict) else scope


def read_key(secret: str, *, admit: tuple[str, tuple[str, int] | None] | None = None) -> fastcache.KeyRead | None:
    """The key's principal, from the cache (with the gate state when Redis has it) or the database.

    ``admit`` asks the same round trip to take the rate-limit step too (see fastcache.read_key).
    """
    key_hash = hash_secret(secret)
    read = fastcache.read_key(
        key_cache_key(key_hash),
        access_prefix=ACCESS_CACHE_PREFIX,
        claim_prefix=LAST_USED_CLAIM_PREFIX,
        claim_timeout=int(settings.API_KEY_LAST_USED_RESOLUTION.total_seconds()),
        admit=admit,
    )
    if read is not None:
        return read
    key = ApiKey.objects.filter(key_hash=key_hash).first()
    if key is None:
        return None
    principal = principal_for(key)
    fastcache.set_key(
        key_cache_key(key_hash),
        principal,
        organization_id=key.organization_id,
        key_id=key.pk,
        timeout=settings.API_KEY_CACHE_SECONDS,
    )
    return fastcache.KeyRead(principal, None, None)


def lookup_principal(secret: str) -> KeyPrincipal | None:
    read = read_key(secret) if mode_of(secret) else None
    return read.principal if read is not None else None


def client_ip(request: HttpRequest | Request) -> str:
    """The caller's address; X-Forwarded-For is trusted only for the configured number of proxies."""
    meta = request.META
    hops = settings.NUM_TRUSTED_PROXIES
    if hops:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return meta.get("REMOTE_ADDR", "unknown")


def presented_secret(request: HttpRequest | Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else header.strip()
    value = request.META.get("HTTP_X_API_KEY", "").strip()
    return value or None


def _record_failed_attempt(request: ApiRequest) -> None:
    decision = limiter().hit(f"ip:{client_ip(request)}", limit=settings.UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE)
    request._request.rate_limit = decision
    if not decision.allowed:
        raise RateLimitExceeded(decision.retry_after, "Too many requests with invalid API keys from this address.")


def _admission_request(request: Request) -> tuple[str, tuple[str, int] | None] | None:
    """What the key's round trip needs to admit the request as the per-key throttle would, or None
    when the view is not limited per key."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None or KeyRateThrottle not in getattr(view, "throttle_classes", ()):
        return None
    counter_hash = api_request_counter_hash()
    if counter_hash is not None:
        # Remembered so an answer that is not billable can give the count back (apicount.count_api_request).
        as_api_request(request)._request.api_request_count_hour = counter_hash[1]
    return required_scope(view, request.method) or "", counter_hash


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[KeyPrincipal, KeyPrincipal]:
        secret = presented_secret(request)
        if not secret:
            raise ApiKeyRequired()
        read = read_key(secret, admit=_admission_request(request)) if mode_of(secret) else None
        if read is None or not read.principal.usable(timezone.now()):
            _record_failed_attempt(as_api_request(request))
            raise InvalidApiKey()
        as_api_request(request)._request.key_read = read  # the gate uses what came back in the same round trip
        return read.principal, read.principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
