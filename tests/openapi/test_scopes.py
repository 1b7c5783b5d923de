"""Every operation states its scope, and the document and the server agree about it, both ways:
a key with every scope but the stated one is refused with INSUFFICIENT_SCOPE, and a key holding only
the stated one gets past the scope check (to a 2xx, a 400 or a 404, never a 403)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from developer.scopes import ALL_SCOPES
from tests.conftest import ApiClient, make_key
from tests.openapi.test_document import operations

pytestmark = pytest.mark.django_db


def _concrete(path: str) -> str:
    # Ids that exist nowhere: the scope check comes before the lookup, so the answer is 403 or 404.
    return re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1).removesuffix('_id')[:3]}_doesnotexist00", path)


def _call(api: ApiClient, method: str, path: str) -> Any:
    if method in ("post", "patch", "put"):
        return api.request(method.upper(), _concrete(path), {})
    return api.request(method.upper(), _concrete(path))


def test_every_operation_states_one_known_scope_in_words_and_machine_readably(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        scopes = op.get("x-required-scopes")
        assert scopes and len(scopes) == 1 and scopes[0] in ALL_SCOPES, (method, path)
        assert f"Requires the `{scopes[0]}` scope." in op["description"], (method, path)


def test_the_server_enforces_exactly_the_scope_the_document_states(document: dict[str, Any], org) -> None:
    checked = 0
    for path, method, op in operations(document):
        (scope,) = op["x-required-scopes"]
        without = ApiClient(make_key(org, mode="test", scopes=[s for s in ALL_SCOPES if s != scope]))
        refused = _call(without, method, path)
        assert refused.status_code == 403, (method, path, refused.status_code, refused.body)
        assert refused.body["error"]["code"] == "INSUFFICIENT_SCOPE", (method, path)
        assert scope in refused.body["error"]["message"], (method, path)

        only = ApiClient(make_key(org, mode="test", scopes=[scope]))
        allowed = _call(only, method, path)
        assert allowed.status_code != 403, (method, path, allowed.body)
        assert allowed.status_code < 500, (method, path, allowed.body)
        checked += 1
    assert checked >= 40


def test_date_range_lists_its_presets_and_the_explicit_form(document: dict[str, Any]) -> None:
    parameter = next(p for p in document["paths"]["/calls"]["get"]["parameters"] if p["name"] == "dateRange")
    presets, explicit = parameter["schema"]["anyOf"]
    assert presets["enum"] == ["today", "7d", "30d", "90d"]
    assert re.fullmatch(explicit["pattern"], "2026-06-01,2026-06-30")
