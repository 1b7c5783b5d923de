"""verify_webhook against a vector signed by the platform's own signer (core/signing.py)."""

from __future__ import annotations

import pytest
from aiphone360 import AiPhone360, AiPhone360Error, WebhookVerificationError, sign_webhook, verify_webhook

BODY = (
    '{"id":"evt_123","type":"contact.created","createdAt":"2026-06-28T20:00:00Z","businessId":"biz_1",'
    '"data":{"name":"Jördan 📞"},"livemode":false}'
).encode()
T = 1782676800
HEADER = (
    f"t={T},v1=db096aa096e178dfa5b24b0a7d67cad71df0780f8749f736b154450555c5dd71,"
    "v1=e6816dd771e771d62be845a9a96d349acde8866d0d47a58524b028bad6326045"
)


def test_the_platforms_signature_verifies_and_the_event_is_returned() -> None:
    event = verify_webhook(BODY, HEADER, "whsec_old", now=T + 10)
    assert event.id == "evt_123"
    assert event.type == "contact.created"
    assert event.business_id == "biz_1"
    assert event.data.name == "Jördan 📞"
    assert event.livemode is False


def test_any_matching_v1_is_accepted_so_both_secrets_of_a_rotation_verify() -> None:
    assert verify_webhook(BODY, HEADER, "whsec_new", now=T).id == "evt_123"


def test_a_str_body_and_the_static_method_work_too() -> None:
    assert AiPhone360.verify_webhook(BODY.decode(), HEADER, "whsec_old", now=T).id == "evt_123"


def test_a_wrong_secret_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="No v1 signature matches"):
        verify_webhook(BODY, HEADER, "whsec_other", now=T)


def test_a_changed_body_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY.replace("Jördan".encode(), b"Jordan"), HEADER, "whsec_old", now=T)


def test_a_timestamp_older_than_five_minutes_is_rejected_and_exactly_five_is_accepted() -> None:
    assert verify_webhook(BODY, HEADER, "whsec_old", now=T + 300).id == "evt_123"
    with pytest.raises(WebhookVerificationError, match="301 seconds old; the limit is 300"):
        verify_webhook(BODY, HEADER, "whsec_old", now=T + 301)


def test_a_future_timestamp_and_a_custom_tolerance() -> None:
    with pytest.raises(WebhookVerificationError, match="in the future"):
        verify_webhook(BODY, HEADER, "whsec_old", now=T - 301)
    with pytest.raises(WebhookVerificationError, match="limit is 60"):
        verify_webhook(BODY, HEADER, "whsec_old", tolerance=60, now=T + 61)


def test_a_rewritten_timestamp_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, HEADER.replace(f"t={T}", f"t={T + 100}"), "whsec_old", now=T + 100)


@pytest.mark.parametrize(
    "header", [None, "", "garbage", "v1=" + "a" * 64, "t=abc,v1=" + "a" * 64, f"t={T}", f"t={T},t={T},v1=" + "a" * 64]
)
def test_missing_and_malformed_headers_are_rejected(header: str | None) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, header, "whsec_old", now=T)


def test_a_missing_secret_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="secret"):
        verify_webhook(BODY, HEADER, None, now=T)


def test_unknown_schemes_and_non_hex_candidates_are_ignored() -> None:
    header = f"t={T},v0=zzz,v1=nothex,{HEADER.split(',')[1]}"
    assert verify_webhook(BODY, header, "whsec_old", now=T).id == "evt_123"


def test_sign_webhook_round_trips_and_the_error_is_an_aiphone360_error() -> None:
    header = sign_webhook(BODY, ["whsec_a", "whsec_b"], T)
    assert verify_webhook(BODY, header, "whsec_b", now=T).id == "evt_123"
    with pytest.raises(AiPhone360Error) as caught:
        verify_webhook(BODY, header, "whsec_c", now=T)
    assert (caught.value.code, caught.value.status) == ("WEBHOOK_SIGNATURE_INVALID", 400)
