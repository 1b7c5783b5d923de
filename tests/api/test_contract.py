"""The envelope, the error codes and the order of the gate's checks, through real requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast
from unittest import mock

import pytest
from django.test import Client

from accounts.models import Organization
from billing.models import Subscription
from billing.services import addon_grant, addon_revoke, organization_reinstate, organization_suspend, subscription_set
from billing.wallet import wallet_credit, wallet_debit
from tests.conftest import API, ApiClient, make_key, make_org, redis_available

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.body
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    assert body["error"]["requestId"] == response["X-Request-Id"]
    assert response["X-Request-Id"].startswith("req_")


def test_success_envelope_with_pagination_and_request_id(api: ApiClient) -> None:
    response = api.get("/keys?limit=5")
    assert response.status_code == 200
    assert set(response.body) == {"success", "data", "pagination", "message"}
    assert response.body["success"] is True
    assert response.body["pagination"] == {"nextCursor": None, "hasMore": False, "limit": 5}
    assert response["X-Request-Id"].startswith("req_")


def test_missing_key_is_api_key_required() -> None:
    assert_error(ApiClient().get("/keys"), 401, "API_KEY_REQUIRED")


@pytest.mark.parametrize(
    "secret",
    [
        "aip_live_" + "A" * 43,  # well-formed, unknown
        "aip_live_short",  # malformed
        "sk_live_whatever",  # not ours
        "aip_prod_" + "A" * 43,  # unknown prefix
    ],
)
def test_unknown_or_malformed_key_is_invalid_api_key(org, secret: str) -> None:
    assert_error(ApiClient(secret).get("/keys"), 401, "INVALID_API_KEY")


def test_x_api_key_header_is_accepted(live_key: str) -> None:
    response = ApiClient().get("/keys", headers={"x-api-key": live_key})
    assert response.status_code == 200


def test_revoked_key_is_rejected_on_the_next_request(api: ApiClient, live_key: str) -> None:
    key_id = api.get("/keys").body["data"][0]["id"]
    assert api.get("/keys").status_code == 200  # warm the cache
    assert api.post(f"/keys/{key_id}/revoke").status_code == 200
    assert_error(api.get("/keys"), 401, "INVALID_API_KEY")


def test_expired_key_is_invalid(org) -> None:
    from django.utils import timezone

    from developer.models import ApiKey

    secret = make_key(org)
    api = ApiClient(secret)
    assert api.get("/keys").status_code == 200
    ApiKey.objects.filter(organization=org).update(expires_at=timezone.now())
    from django.core.cache import cache

    cache.clear()  # a direct row update bypasses the services; the services invalidate themselves
    assert_error(api.get("/keys"), 401, "INVALID_API_KEY")


def test_suspended_business(org, api: ApiClient) -> None:
    assert api.get("/keys").status_code == 200
    organization_suspend(organization=org, actor=None, reason="abuse")
    assert_error(api.get("/keys"), 403, "BUSINESS_SUSPENDED")
    organization_reinstate(organization=org, actor=None)
    assert api.get("/keys").status_code == 200


def test_no_active_subscription(org, api: ApiClient) -> None:
    subscription_set(organization=org, plan_code="PRO", actor=None, status=Subscription.Status.CANCELED)
    assert_error(api.get("/keys"), 402, "SUBSCRIPTION_REQUIRED")


def test_missing_subscription_row_is_subscription_required(db) -> None:
    org = make_org(addon=True)
    Subscription.objects.filter(organization=org).delete()
    assert_error(ApiClient(make_key(org)).get("/keys"), 402, "SUBSCRIPTION_REQUIRED")


def test_addon_required_then_granted(org, api: ApiClient) -> None:
    addon_revoke(organization=org, actor=None)
    assert_error(api.get("/keys"), 402, "PLATFORM_ADDON_REQUIRED")
    addon_grant(organization=org, actor=None)
    assert api.get("/keys").status_code == 200


def test_insufficient_scope(org) -> None:
    api = ApiClient(make_key(org, scopes=["read:calls"]))
    response = api.get("/keys")
    assert_error(response, 403, "INSUFFICIENT_SCOPE")
    assert "read:usage" in response.body["error"]["message"]


def test_empty_wallet_blocks_live_keys_only(org, live_key: str, test_key: str) -> None:
    wallet_debit(organization=org, amount=Decimal("50"), reason="spend", reference="t-1")
    assert_error(ApiClient(live_key).get("/keys"), 402, "INSUFFICIENT_CREDITS")
    assert ApiClient(test_key).get("/keys").status_code == 200
    wallet_credit(organization=org, amount=Decimal("5"), reason="top-up", actor=None)
    assert ApiClient(live_key).get("/keys").status_code == 200


class TestOrderOfChecks:
    """Each failing condition is layered on the next one; the earliest in the contract's order wins."""

    def test_suspension_beats_subscription_addon_scope_and_credits(self, db) -> None:
        org = make_org(credits=None)
        secret = make_key(org, scopes=["read:calls"])
        addon_revoke(organization=org, actor=None)
        subscription_set(organization=org, plan_code="BASIC", actor=None, status=Subscription.Status.CANCELED)
        organization_suspend(organization=org, actor=None, reason="compliance")
        api = ApiClient(secret)
        assert_error(api.get("/keys"), 403, "BUSINESS_SUSPENDED")
        organization_reinstate(organization=org, actor=None)
        assert_error(api.get("/keys"), 402, "SUBSCRIPTION_REQUIRED")
        subscription_set(organization=org, plan_code="BASIC", actor=None)
        assert_error(api.get("/keys"), 402, "PLATFORM_ADDON_REQUIRED")
        addon_grant(organization=org, actor=None)
        assert_error(api.get("/keys"), 403, "INSUFFICIENT_SCOPE")
        full = ApiClient(make_key(org))
        assert_error(full.get("/keys"), 402, "INSUFFICIENT_CREDITS")

    def test_rate_limit_comes_before_insufficient_credits(self, db) -> None:
        org = make_org(plan="BASIC", credits=None)  # BASIC: 60 requests per minute
        api = ApiClient(make_key(org))
        codes = [api.get("/keys").body["error"]["code"] for _ in range(61)]
        assert codes[:60] == ["INSUFFICIENT_CREDITS"] * 60
        assert codes[60] == "RATE_LIMIT_EXCEEDED"

    def test_scope_comes_before_rate_limit(self, db) -> None:
        org = make_org(plan="BASIC")
        api = ApiClient(make_key(org, scopes=["read:calls"]))
        codes = {api.get("/keys").body["error"]["code"] for _ in range(70)}
        assert codes == {"INSUFFICIENT_SCOPE"}

    def test_missing_key_comes_before_unknown_route_method(self, db) -> None:
        assert_error(ApiClient().delete("/keys"), 401, "API_KEY_REQUIRED")


def test_unknown_route_is_enveloped_404(api: ApiClient) -> None:
    for method in ("get", "post", "delete"):
        assert_error(getattr(api, method)("/no-such-thing"), 404, "RESOURCE_NOT_FOUND")


def test_trailing_slash_route_is_enveloped_404_not_redirect(api: ApiClient) -> None:
    assert_error(api.get("/keys/"), 404, "RESOURCE_NOT_FOUND")


def test_wrong_method_is_enveloped_405(api: ApiClient) -> None:
    response = api.delete("/keys")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")


def test_malformed_json_is_validation_error(api: ApiClient) -> None:
    response = api.request("POST", "/keys", raw=b'{"name": ')
    assert_error(response, 400, "VALIDATION_ERROR")


def test_non_object_json_body_is_validation_error(api: ApiClient) -> None:
    response = api.request("POST", "/keys", raw=b"[1, 2]")
    assert_error(response, 400, "VALIDATION_ERROR")
    assert "body" in response.body["error"]["fields"]


def test_non_json_content_type_is_enveloped(live_key: str) -> None:
    response = Client().post(
        f"{API}/keys",
        data="name=x",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {live_key}"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_unexpected_exception_is_enveloped_500_without_traceback(api: ApiClient) -> None:
    with mock.patch("developer.api.api_key_json", autospec=True, side_effect=RuntimeError("boom secret detail")):
        response = api.get("/keys")
    assert_error(response, 500, "INTERNAL_ERROR")
    assert b"boom" not in response.content
    assert b"Traceback" not in response.content


def test_validation_error_names_every_bad_field(api: ApiClient) -> None:
    response = api.post("/keys", {"name": "", "mode": "prod", "scopes": ["read:calls", "fly:rockets"]})
    assert_error(response, 400, "VALIDATION_ERROR")
    assert set(response.body["error"]["fields"]) == {"name", "mode", "scopes"}
    assert "fly:rockets" in response.body["error"]["fields"]["scopes"][0]


def test_rate_limit_headers_on_every_response(api: ApiClient) -> None:
    response = api.get("/keys")
    assert response["X-RateLimit-Limit"] == "300"  # PRO
    assert response["X-RateLimit-Remaining"] == "299"
    assert int(response["X-RateLimit-Reset"]) > 0
    assert api.get("/keys")["X-RateLimit-Remaining"] == "298"


def test_rate_limit_exceeded_has_retry_after(db) -> None:
    org = make_org(plan="BASIC")
    api = ApiClient(make_key(org))
    for _ in range(60):
        assert api.get("/keys").status_code == 200
    response = _until_limited(api)
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert response["Retry-After"] == "1"
    assert response["X-RateLimit-Remaining"] == "0"


def test_limits_are_per_key(db) -> None:
    org = make_org(plan="BASIC")
    first, second = ApiClient(make_key(org)), ApiClient(make_key(org))
    for _ in range(60):
        first.get("/keys")
    assert _until_limited(first).status_code == 429
    assert second.get("/keys").status_code == 200


def _until_limited(api: ApiClient, tries: int = 20) -> Any:
    """The next request, or the first refused one: the bucket refills one request a second (60 a
    minute), so on a loaded machine the 60 before may have taken long enough to earn a few more."""
    for _ in range(tries):
        response = api.get("/keys")
        if response.status_code != 200:
            return response
    return response


def test_bad_key_flood_is_cut_off_per_ip(org, settings) -> None:
    settings.UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE = 5
    guesser = ApiClient("aip_live_" + "B" * 43)
    codes = [guesser.get("/keys").status_code for _ in range(8)]
    assert codes == [401] * 5 + [429] * 3


def test_warm_request_makes_no_query_for_key_or_gate(api: ApiClient, django_assert_num_queries) -> None:
    api.get("/keys")  # warm: caches key, gate state and last-used stamp
    with django_assert_num_queries(1):  # the list query itself
        assert api.get("/keys?limit=1").status_code == 200


def test_warm_request_takes_one_redis_round_trip_for_key_gate_limit_and_count(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not redis_available():
        pytest.skip("REDIS_URL is not set or Redis is not reachable")
    import redis
    from django.conf import settings

    from developer.public_api.apicount import RedisApiCounter

    api.get("/keys")  # warm
    sent: list[str] = []
    real = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: object, **options: object) -> object:
        sent.append(str(args[0]))
        return real(self, *args, **options)

    counts = redis.Redis.from_url(settings.REDIS_URL)

    def counted() -> int:
        # redis-py types the sync client's replies as "Awaitable[list] | list"
        return sum(int(v) for v in cast(list[bytes], counts.hvals(RedisApiCounter.pending_key)))

    before = counted()
    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    response = api.get("/keys?limit=1")
    assert response.status_code == 200 and int(response["X-RateLimit-Remaining"]) >= 0
    assert sent == ["EVALSHA"]  # one script: key, gate state, last-used claim, rate limit and billing count
    monkeypatch.undo()
    assert counted() == before + 1


def test_requests_refused_before_the_limit_take_no_token_and_are_not_counted(org: Organization) -> None:
    if not redis_available():
        pytest.skip("REDIS_URL is not set or Redis is not reachable")
    import redis
    from django.conf import settings

    from developer.public_api.apicount import RedisApiCounter

    client = ApiClient(make_key(org, scopes=["read:calls"]))
    counts = redis.Redis.from_url(settings.REDIS_URL)

    def counted() -> int:
        # redis-py types the sync client's replies as "Awaitable[list] | list"
        return sum(int(v) for v in cast(list[bytes], counts.hvals(RedisApiCounter.pending_key)))

    before = counted()
    for _ in range(3):  # warm, then twice from the one-round-trip path
        assert client.get("/keys").status_code == 403  # INSUFFICIENT_SCOPE comes before the limit
    ok = client.get("/calls?limit=1")
    assert ok.status_code == 200
    assert int(ok["X-RateLimit-Limit"]) - int(ok["X-RateLimit-Remaining"]) == 1  # only this request took a token
    assert counted() == before + 1


def test_any_accept_header_gets_the_json_envelope(api: ApiClient) -> None:
    response = api.get("/keys", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.body["success"] is True
