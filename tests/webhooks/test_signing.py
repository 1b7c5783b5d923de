"""The X-AIP-Signature contract, checked against an independent inline implementation."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from core.signing import SignatureError, generate_secret, sign, verify

SECRET = "whsec_test_secret_one"
OTHER_SECRET = "whsec_test_secret_two"
BODY = b'{"id":"evt_123","type":"call.completed","data":{"text":"caf\xc3\xa9"}}'
NOW = 1_700_000_000


def reference_v1(secret: str, body: bytes, timestamp: int) -> str:
    """What a customer following the docs computes: HMAC-SHA256(secret, "<t>.<rawBody>")."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def test_sign_produces_documented_header_for_one_secret() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    assert header == f"t={NOW},v1={reference_v1(SECRET, BODY, NOW)}"


def test_sign_uses_the_whsec_prefix_as_part_of_the_key() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    unprefixed = reference_v1(SECRET.removeprefix("whsec_"), BODY, NOW)
    assert unprefixed not in header


def test_sign_emits_one_v1_per_secret_in_the_given_order() -> None:
    header = sign(secrets=[SECRET, OTHER_SECRET], body=BODY, timestamp=NOW)

    assert header == (f"t={NOW},v1={reference_v1(SECRET, BODY, NOW)},v1={reference_v1(OTHER_SECRET, BODY, NOW)}")


def test_sign_refuses_no_secrets_and_a_bare_string() -> None:
    with pytest.raises(ValueError):
        sign(secrets=[], body=BODY, timestamp=NOW)
    with pytest.raises(TypeError):
        sign(secrets=SECRET, body=BODY, timestamp=NOW)


def test_verify_accepts_a_header_built_independently_and_returns_its_timestamp() -> None:
    header = f"t={NOW},v1={reference_v1(SECRET, BODY, NOW)}"

    assert verify(header=header, body=BODY, secret=SECRET, now=NOW) == NOW


def test_verify_round_trips_with_sign() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    assert verify(header=header, body=BODY, secret=SECRET, now=NOW + 10) == NOW


@pytest.mark.parametrize("secret", [SECRET, OTHER_SECRET])
def test_verify_accepts_either_signature_during_rotation(secret: str) -> None:
    header = sign(secrets=[SECRET, OTHER_SECRET], body=BODY, timestamp=NOW)

    assert verify(header=header, body=BODY, secret=secret, now=NOW) == NOW


def test_verify_accepts_a_matching_v1_after_a_non_matching_one() -> None:
    header = f"t={NOW},v1={'0' * 64},v1={reference_v1(SECRET, BODY, NOW)}"

    assert verify(header=header, body=BODY, secret=SECRET, now=NOW) == NOW


def test_verify_ignores_unknown_schemes_and_spaces() -> None:
    header = f"t={NOW}, v0=legacy, v1={reference_v1(SECRET, BODY, NOW)}"

    assert verify(header=header, body=BODY, secret=SECRET, now=NOW) == NOW


def test_verify_rejects_a_tampered_body() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(header=header, body=BODY + b" ", secret=SECRET, now=NOW)


def test_verify_rejects_the_wrong_secret() -> None:
    header = sign(secrets=[OTHER_SECRET], body=BODY, timestamp=NOW)

    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(header=header, body=BODY, secret=SECRET, now=NOW)


def test_verify_rejects_a_changed_timestamp_with_the_old_signature() -> None:
    header = f"t={NOW + 1},v1={reference_v1(SECRET, BODY, NOW)}"

    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(header=header, body=BODY, secret=SECRET, now=NOW)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_verify_accepts_timestamps_up_to_exactly_the_tolerance(offset: int) -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    assert verify(header=header, body=BODY, secret=SECRET, now=NOW + offset) == NOW


def test_verify_rejects_a_timestamp_301_seconds_old() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    with pytest.raises(SignatureError, match="301 seconds old"):
        verify(header=header, body=BODY, secret=SECRET, now=NOW + 301)


def test_verify_rejects_a_timestamp_301_seconds_in_the_future() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    with pytest.raises(SignatureError, match="301 seconds in the future"):
        verify(header=header, body=BODY, secret=SECRET, now=NOW - 301)


def test_verify_honours_a_custom_tolerance() -> None:
    header = sign(secrets=[SECRET], body=BODY, timestamp=NOW)

    assert verify(header=header, body=BODY, secret=SECRET, tolerance=10, now=NOW + 10) == NOW
    with pytest.raises(SignatureError):
        verify(header=header, body=BODY, secret=SECRET, tolerance=10, now=NOW + 11)


def test_verify_rejects_a_header_without_v1() -> None:
    with pytest.raises(SignatureError, match="no v1"):
        verify(header=f"t={NOW},v0=abc", body=BODY, secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "garbage",
        f"v1={'a' * 64}",  # no timestamp
        f"t=,v1={'a' * 64}",
        f"t=abc,v1={'a' * 64}",
        f"t=-5,v1={'a' * 64}",
        f"t=+{NOW},v1={'a' * 64}",
        f"t=1_700_000_000,v1={'a' * 64}",
        f"t={NOW},t={NOW},v1={'a' * 64}",
        f"t={NOW},v1=",
        f"t={NOW};v1={'a' * 64}",
        f"t={NOW},,v1={'a' * 64}",
        f"t={NOW},=abc",
    ],
)
def test_verify_rejects_malformed_headers(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(header=header, body=BODY, secret=SECRET, now=NOW)


def test_verify_rejects_non_ascii_candidates_without_crashing() -> None:
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(header=f"t={NOW},v1=é{'a' * 63}", body=BODY, secret=SECRET, now=NOW)


def test_signature_error_is_a_value_error() -> None:
    assert issubclass(SignatureError, ValueError)


def test_generated_secrets_are_prefixed_random_and_sign_usably() -> None:
    first, second = generate_secret(), generate_secret()

    assert first.startswith("whsec_") and second.startswith("whsec_")
    assert first != second
    assert len(first.removeprefix("whsec_")) >= 43  # 32 bytes, base64url without padding
    header = sign(secrets=[first], body=BODY, timestamp=NOW)
    assert verify(header=header, body=BODY, secret=first, now=NOW) == NOW
