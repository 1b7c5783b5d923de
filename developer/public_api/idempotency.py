"""`Idempotency-Key` on every write of the public API: a retried request is answered, never executed twice.

`PublicApiView` wraps each POST, PATCH, PUT and DELETE handler of its subclasses with `idempotent`
(see `PublicApiView.__init_subclass__`), so no view opts in or can forget to. When the caller sends
the header:

- the first request claims the key (a committed row, unique per organisation, key mode and key)
  before the view runs, so concurrent duplicates find it taken and get 409 IDEMPOTENCY_KEY_IN_USE;
- a successful (2xx) response is stored for 24 hours and replayed to any retry with the same body,
  with `Idempotent-Replayed: true` and without running the view again;
- the same key with a different method, path or body gets 422 IDEMPOTENCY_KEY_REUSED;
- a failed request releases the key, so the caller can fix the problem and retry with it (as
  Stripe does: only results of requests that went through are worth replaying).

Without the header the view runs as usual. Stored responses are encrypted at rest under
`FIELD_ENCRYPTION_KEY` (`core.crypto`): a replayed `POST /keys` or `POST /webhooks` carries the
secret that the first answer showed, and no secret lies in the database in the clear.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from core import crypto
from developer.models import IdempotencyRecord

from .exceptions import ApiError, ValidationFailed
from .requests import ApiRequest, ApiResponse

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# How long a key and its stored response are kept (and so how long a retry is safe).
RETENTION = timedelta(hours=24)
# A claim older than this belongs to a request whose process died; a retry may take it over.
# Comfortably longer than any request we serve (the SMS carrier call times out after 10 s).
LOCK_TIMEOUT = timedelta(minutes=2)


class IdempotencyKeyInUse(ApiError):
    status_code, code = 409, "IDEMPOTENCY_KEY_IN_USE"
    default_detail = (
        "A request with this Idempotency-Key is still being processed. Retry after it finishes to receive its result."
    )


class IdempotencyKeyReused(ApiError):
    status_code, code = 422, "IDEMPOTENCY_KEY_REUSED"
    default_detail = (
        "This Idempotency-Key was already used with a different request (method, path or body). "
        "Use a new key for a new request."
    )


@dataclass(frozen=True)
class Claim:
    """Either a claimed record the caller must complete or release, or a stored response to replay."""

    record: IdempotencyRecord
    replay: bool


def clean_key(raw: str) -> str:
    key = raw.strip()
    if not key:
        raise ValidationFailed(fields={HEADER: ["Must not be empty."]})
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(fields={HEADER: [f"At most {MAX_KEY_LENGTH} characters."]})
    if not all(32 <= ord(ch) < 127 for ch in key):
        raise ValidationFailed(fields={HEADER: ["Use printable ASCII characters only (a UUID is a good key)."]})
    return key


def request_fingerprint(method: str, path: str, data: Any) -> str:
    """Equal for requests that mean the same thing: JSON key order and whitespace do not matter."""
    canonical = json.dumps([method.upper(), path, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(*, organization_id: int, mode: str, key: str, fingerprint: str, now: datetime | None = None) -> Claim:
    now = now or timezone.now()
    scope = {"organization_id": organization_id, "mode": mode, "key": key}
    # Two rounds at most: the second follows the removal of an expired record.
    for _ in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    **scope, fingerprint=fingerprint, locked_at=now, created_at=now
                )
            return Claim(record=record, replay=False)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(**scope).first()
        if existing is None:
            continue  # released between our insert and our read
        if existing.created_at <= now - RETENTION:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if existing.state == IdempotencyRecord.State.COMPLETED:
            return Claim(record=existing, replay=True)
        if existing.locked_at is not None and existing.locked_at <= now - LOCK_TIMEOUT:
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, state=IdempotencyRecord.State.IN_FLIGHT, locked_at=existing.locked_at
            ).update(locked_at=now)
            if taken:
                existing.locked_at = now
                return Claim(record=existing, replay=False)
        raise IdempotencyKeyInUse()
    raise IdempotencyKeyInUse()


def complete(record: IdempotencyRecord, response: Response) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        locked_at=None,
        response_status=response.status_code,
        # The JSON body as one Fernet token (a JSON string in the column): it may hold a key or secret.
        response_data=crypto.encrypt(json.dumps(response.data, separators=(",", ":"), ensure_ascii=False)),
        response_message=str(getattr(response, "message", "OK"))[:500],
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()


def stored_data(record: IdempotencyRecord) -> Any:
    """The stored response body: a token since responses are encrypted, plain JSON in older rows."""
    data = record.response_data
    return json.loads(crypto.decrypt(data)) if isinstance(data, str) else data


def replay_response(record: IdempotencyRecord) -> Response:
    response = ApiResponse(stored_data(record), status=record.response_status, headers={"Idempotent-Replayed": "true"})
    response.message = record.response_message or "OK"
    return response


def idempotency_prune(*, now: datetime | None = None) -> int:
    """Delete keys past their retention; called by a periodic task. Returns how many went."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


WRITE_METHODS = ("post", "put", "patch", "delete")


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Make a write view method honour `Idempotency-Key` (see the module docstring). Applying it
    twice wraps once."""
    if getattr(view_method, "idempotent", False):
        return view_method

    @functools.wraps(view_method)
    def wrapper(view: Any, request: ApiRequest, *args: Any, **kwargs: Any) -> Response:
        raw = request.headers.get(HEADER)
        if raw is None:
            return view_method(view, request, *args, **kwargs)
        key = clean_key(raw)
        # Parsing the body first: a malformed body fails with 400 before any key is claimed.
        assert request.method is not None  # set on every request Django dispatches
        fingerprint = request_fingerprint(request.method, request.path, request.data)
        result = claim(
            organization_id=request.auth.organization_id, mode=request.auth.mode, key=key, fingerprint=fingerprint
        )
        if result.replay:
            return replay_response(result.record)
        try:
            response = view_method(view, request, *args, **kwargs)
        except BaseException:
            release(result.record)
            raise
        if 200 <= response.status_code < 300:
            complete(result.record, response)
        else:
            release(result.record)
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
