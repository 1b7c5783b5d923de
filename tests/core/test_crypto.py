"""Secrets at rest: one module on FIELD_ENCRYPTION_KEY, key rotation, the legacy SECRET_KEY rows,
and signing that survives a rotated SECRET_KEY, checked on a real local HTTP receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from accounts.models import Organization
from agents.models import CustomTool, ToolSigningSecret
from agents.services import signing_secret_for, signing_secret_rotate, tool_invoke
from core import crypto
from tests.agents.conftest import TOKEN, make_tool
from tests.webhooks.receiver import Receiver, Reply
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create, endpoint_rotate_secret

pytestmark = pytest.mark.django_db

OLD_KEY = "the passphrase we used last year"
NEW_KEY = "Cz1fLdyCpMyF0c0wqJZ3v8Qm7kR2sYtU4hN6jB9eXaI="  # a Fernet key is used as is
OTHER_SECRET_KEY = "a-brand-new-django-secret-key-after-rotation-0123456789"


def valid_v1(header: str, body: bytes, secret: str) -> list[bool]:
    """What a receiver following the docs does: HMAC-SHA256 over "<t>.<raw body>" for each v1."""
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return [hmac.compare_digest(expected, v) for k, v in parts if k == "v1"]


def legacy_webhook_token(plaintext: str, secret_key: str) -> str:
    """A webhook secret as the removed webhooks/crypto.py stored it: Fernet under SHA-256(label + SECRET_KEY)."""
    key = base64.urlsafe_b64encode(hashlib.sha256(b"aiphone360:secrets-at-rest:" + secret_key.encode()).digest())
    return Fernet(key).encrypt(plaintext.encode()).decode()


def legacy_tool_token(plaintext: str, secret_key: str) -> str:
    """A tool secret as the removed agents/crypto.py stored it with FIELD_ENCRYPTION_KEY empty: HKDF(SECRET_KEY)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aiphone360:agents:field-encryption:v1")
    return Fernet(base64.urlsafe_b64encode(derived.derive(secret_key.encode()))).encrypt(plaintext.encode()).decode()


def deliver_one(org: Organization) -> Delivery:
    event = emit(organization=org, type="call.completed", data={"callId": "call_123"}, mode="live")
    delivery = Delivery.objects.get(event=event)
    attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt is not None and attempt.succeeded
    return delivery


def reencrypt(**options: object) -> str:
    out, err = StringIO(), StringIO()
    call_command("reencrypt_secrets", stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def migration(app: str, name: str, function: str) -> None:
    getattr(importlib.import_module(f"{app}.migrations.{name}"), function)(apps, None)


def test_a_secret_round_trips_and_its_token_reveals_nothing() -> None:
    token = crypto.encrypt("whsec_round-trip-secret")
    assert "round-trip" not in token and token != crypto.encrypt("whsec_round-trip-secret")
    assert crypto.decrypt(token) == "whsec_round-trip-secret"
    assert not crypto.needs_reencrypt(token)


def test_a_token_no_key_opens_raises_a_clear_error_that_names_no_secret() -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        token = crypto.encrypt("whsec_lost")
    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[]):
        with pytest.raises(crypto.UndecryptableSecret, match="FIELD_ENCRYPTION_OLD_KEYS") as raised:
            crypto.decrypt(token)
        with pytest.raises(crypto.UndecryptableSecret):
            crypto.reencrypt(token)
    assert token not in str(raised.value)
    with pytest.raises(crypto.UndecryptableSecret):
        crypto.decrypt("not a token at all ✗")


def test_the_key_is_field_encryption_key_never_secret_key() -> None:
    token = crypto.encrypt("whsec_independent")
    with override_settings(SECRET_KEY=OTHER_SECRET_KEY):
        assert crypto.decrypt(token) == "whsec_independent"
        assert not crypto.needs_reencrypt(token)
    key = crypto.fernet_key(settings.FIELD_ENCRYPTION_KEY)
    assert Fernet(key).decrypt(token.encode()) == b"whsec_independent"


def test_rotating_secret_key_keeps_webhook_deliveries_signed_with_each_endpoints_secret(
    org: Organization, receiver: Receiver
) -> None:
    first, first_secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    second, second_secret = endpoint_create(organization=org, url=receiver.url + "/second", events=["*"], actor=None)

    with override_settings(SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        event = emit(organization=org, type="call.completed", data={"callId": "call_123"}, mode="live")
        deliveries = Delivery.objects.filter(event=event)
        assert {d.endpoint_id for d in deliveries} == {first.pk, second.pk}
        for delivery in deliveries:
            attempt = delivery_attempt(delivery_id=delivery.pk)
            assert attempt is not None and attempt.succeeded

    by_path = {r.path: r for r in receiver.requests}
    assert set(by_path) == {"/hooks", "/hooks/second"}
    assert valid_v1(by_path["/hooks"].headers["x-aip-signature"], by_path["/hooks"].body, first_secret) == [True]
    second_request = by_path["/hooks/second"]
    assert valid_v1(second_request.headers["x-aip-signature"], second_request.body, second_secret) == [True]
    assert valid_v1(second_request.headers["x-aip-signature"], second_request.body, first_secret) == [False]


def test_rotating_secret_key_keeps_tool_calls_authenticated_and_signed(org: Organization, receiver: Receiver) -> None:
    receiver.default = Reply(body=b'{"ok": true}', headers={"Content-Type": "application/json"})
    tool = make_tool(org, receiver.url)
    signing = signing_secret_for(organization=org).secret

    with override_settings(SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        result = tool_invoke(
            tool=CustomTool.objects.get(pk=tool.pk),
            arguments={"orderNumber": "A-1042"},
            call_session_id="call_abc123",
            mode="live",
        )

    assert result.ok
    (request,) = receiver.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert valid_v1(request.headers["x-aip-signature"], request.body, signing) == [True]


def test_a_rotated_key_still_decrypts_and_the_command_moves_every_secret_so_the_old_key_can_go(
    org: Organization, receiver: Receiver
) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        endpoint, first = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
        endpoint, second = endpoint_rotate_secret(endpoint=endpoint, actor=None, overlap="24h")
        tool = make_tool(org, receiver.url)
        signing_secret_for(organization=org)
        signing_record, new_signing = signing_secret_rotate(organization=org, actor=None, overlap="24h")
    rows = (endpoint, tool, signing_record)
    old_tokens = [
        endpoint.secret_encrypted,
        endpoint.previous_secret_encrypted,
        tool.auth_secret_encrypted,
        signing_record.secret_encrypted,
        signing_record.previous_secret_encrypted,
    ]
    plaintexts = [second, first, TOKEN, new_signing]

    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[OLD_KEY]):
        assert Endpoint.objects.get(pk=endpoint.pk).signing_secrets(timezone.now()) == [first, second]
        assert all(crypto.needs_reencrypt(t) for t in old_tokens)

        output = reencrypt(batch_size=1)

        assert "webhooks.Endpoint: 1 row(s), 2 secret(s) re-encrypted, 0 already under the current key." in output
        assert "agents.CustomTool: 1 row(s), 1 secret(s) re-encrypted" in output
        assert "agents.ToolSigningSecret: 1 row(s), 2 secret(s) re-encrypted" in output
        assert "Re-encrypted 5 secret(s); 0 were already under the current key." in output
        again = reencrypt()
        assert "Re-encrypted 0 secret(s); 5 were already under the current key." in again
    for secret in [*plaintexts, *old_tokens, OLD_KEY, NEW_KEY]:
        assert secret not in output and secret not in again

    with override_settings(FIELD_ENCRYPTION_KEY=NEW_KEY, FIELD_ENCRYPTION_OLD_KEYS=[]):
        for row in rows:
            row.refresh_from_db()
        assert endpoint.signing_secrets(timezone.now()) == [first, second]
        assert tool.auth_secret == TOKEN
        assert signing_record.secret == new_signing
        assert crypto.decrypt(signing_record.previous_secret_encrypted).startswith("whsec_")
        deliver_one(org)
    (request,) = receiver.requests
    assert valid_v1(request.headers["x-aip-signature"], request.body, first) == [True, False]
    assert valid_v1(request.headers["x-aip-signature"], request.body, second) == [False, True]


def test_the_command_covers_every_model_that_holds_secrets() -> None:
    declared = {m._meta.label: getattr(m, "encrypted_fields", ()) for m in apps.get_models()}
    holders = {label: fields for label, fields in declared.items() if fields}
    assert holders == {
        "webhooks.Endpoint": ("secret_encrypted", "previous_secret_encrypted"),
        "agents.CustomTool": ("auth_secret_encrypted",),
        "agents.ToolSigningSecret": ("secret_encrypted", "previous_secret_encrypted"),
        "developer.IdempotencyRecord": ("response_data",),  # a replayed POST /keys or /webhooks holds a secret
    }


def test_a_secret_no_key_opens_fails_the_command_after_moving_the_rest(org: Organization, receiver: Receiver) -> None:
    lost, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    kept, kept_secret = endpoint_create(organization=org, url=receiver.url + "/kept", events=["*"], actor=None)
    with override_settings(FIELD_ENCRYPTION_KEY=OLD_KEY):
        Endpoint.objects.filter(pk=kept.pk).update(secret_encrypted=crypto.encrypt(kept_secret))
    unreadable = Fernet(Fernet.generate_key()).encrypt(b"whsec_gone").decode()
    Endpoint.objects.filter(pk=lost.pk).update(secret_encrypted=unreadable)

    with override_settings(FIELD_ENCRYPTION_OLD_KEYS=[OLD_KEY]):
        with pytest.raises(CommandError, match="1 secret\\(s\\) could not be decrypted"):
            reencrypt()
    with override_settings(FIELD_ENCRYPTION_OLD_KEYS=[]):
        assert Endpoint.objects.get(pk=kept.pk).secret == kept_secret
    assert Endpoint.objects.get(pk=lost.pk).secret_encrypted == unreadable


def test_a_webhook_secret_under_the_legacy_secret_key_derivation_decrypts_and_the_migration_moves_it(
    org: Organization, receiver: Receiver
) -> None:
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    legacy = legacy_webhook_token(secret, settings.SECRET_KEY)
    Endpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted=legacy)
    endpoint.refresh_from_db()
    assert endpoint.secret == secret and crypto.needs_reencrypt(legacy)

    migration("webhooks", "0002_reencrypt_secrets_under_field_encryption_key", "reencrypt_endpoints")

    endpoint.refresh_from_db()
    assert endpoint.secret_encrypted != legacy and not crypto.needs_reencrypt(endpoint.secret_encrypted)
    with override_settings(SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        assert Endpoint.objects.get(pk=endpoint.pk).secret == secret
        deliver_one(org)
    (request,) = receiver.requests
    assert valid_v1(request.headers["x-aip-signature"], request.body, secret) == [True]


def test_a_rotated_secret_key_kept_in_secret_key_fallbacks_still_opens_legacy_rows(
    org: Organization, receiver: Receiver
) -> None:
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    Endpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted=legacy_webhook_token(secret, settings.SECRET_KEY))
    with override_settings(SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert "1 secret(s) re-encrypted" in reencrypt()
    with override_settings(SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        assert Endpoint.objects.get(pk=endpoint.pk).secret == secret


def test_tool_secrets_under_the_legacy_secret_key_derivation_decrypt_and_the_migration_moves_them(
    org: Organization, receiver: Receiver
) -> None:
    tool = make_tool(org, receiver.url)
    signing = signing_secret_for(organization=org)
    plain_signing = signing.secret
    CustomTool.objects.filter(pk=tool.pk).update(auth_secret_encrypted=legacy_tool_token(TOKEN, settings.SECRET_KEY))
    ToolSigningSecret.objects.filter(pk=signing.pk).update(
        secret_encrypted=legacy_tool_token(plain_signing, settings.SECRET_KEY)
    )
    assert CustomTool.objects.get(pk=tool.pk).auth_secret == TOKEN

    migration("agents", "0003_reencrypt_secrets_under_field_encryption_key", "reencrypt_tool_secrets")

    with override_settings(SECRET_KEY=OTHER_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        moved_tool = CustomTool.objects.get(pk=tool.pk)
        moved_signing = ToolSigningSecret.objects.get(pk=signing.pk)
        assert moved_tool.auth_secret == TOKEN and moved_signing.secret == plain_signing
        assert not crypto.needs_reencrypt(moved_tool.auth_secret_encrypted)
        assert not crypto.needs_reencrypt(moved_signing.secret_encrypted)


def test_the_command_refuses_a_batch_size_below_one() -> None:
    with pytest.raises(CommandError, match="--batch-size"):
        reencrypt(batch_size=0)
