"""`GET /knowledge-bases` and `GET /knowledge-bases/{id}`: read-only, the business's own, shared by both modes,
and the ids an agent's `knowledgeBaseIds` takes."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from phone.models import KnowledgeBase, KnowledgeDocument
from tests.conftest import ApiClient, make_key


@pytest.fixture
def bases(org: Organization, other_org: Organization) -> dict[str, KnowledgeBase]:
    prices = KnowledgeBase.objects.create(organization=org, name="Prices", description="What things cost")
    for title in ("Cleaning", "Whitening", "Fillings"):
        KnowledgeDocument.objects.create(knowledge_base=prices, title=title, content="…")
    empty = KnowledgeBase.objects.create(organization=org, name="Policies")
    theirs = KnowledgeBase.objects.create(organization=other_org, name="Their secrets")
    KnowledgeDocument.objects.create(knowledge_base=theirs, title="Secret", content="…")
    return {"prices": prices, "empty": empty, "theirs": theirs}


def test_the_list_shows_the_business_bases_with_their_document_counts(
    api: ApiClient, bases: dict[str, KnowledgeBase]
) -> None:
    response = api.get("/knowledge-bases")

    assert response.status_code == 200
    listed = {kb["id"]: kb for kb in response.body["data"]}
    assert set(listed) == {bases["prices"].public_id, bases["empty"].public_id}
    prices = listed[bases["prices"].public_id]
    assert prices["name"] == "Prices" and prices["description"] == "What things cost"
    assert prices["documentCount"] == 3 and listed[bases["empty"].public_id]["documentCount"] == 0
    assert listed[bases["empty"].public_id]["description"] is None
    assert prices["updatedAt"].endswith("Z") and prices["createdAt"].endswith("Z")
    assert response.body["pagination"]["hasMore"] is False


def test_one_base_and_its_last_change_includes_its_documents(api: ApiClient, bases: dict[str, KnowledgeBase]) -> None:
    later = timezone.now() + datetime.timedelta(hours=1)
    KnowledgeDocument.objects.filter(knowledge_base=bases["prices"], title="Cleaning").update(updated_at=later)

    shown = api.get(f"/knowledge-bases/{bases['prices'].public_id}").body["data"]

    assert shown["id"] == bases["prices"].public_id and shown["documentCount"] == 3
    assert shown["updatedAt"] == later.isoformat().replace("+00:00", "Z")


def test_pages_follow_the_cursor(api: ApiClient, org: Organization) -> None:
    for index in range(5):
        KnowledgeBase.objects.create(organization=org, name=f"Base {index}")
    first = api.get("/knowledge-bases?limit=3").body
    second = api.get(f"/knowledge-bases?limit=3&cursor={first['pagination']['nextCursor']}").body
    ids = [kb["id"] for kb in first["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 5 and second["pagination"]["hasMore"] is False


@pytest.mark.parametrize("mode", ["live", "test"])
def test_both_modes_see_the_same_bases(org: Organization, bases: dict[str, KnowledgeBase], mode: str) -> None:
    client = ApiClient(make_key(org, mode=mode))
    assert {kb["id"] for kb in client.get("/knowledge-bases").body["data"]} == {
        bases["prices"].public_id,
        bases["empty"].public_id,
    }
    assert client.get(f"/knowledge-bases/{bases['empty'].public_id}").status_code == 200


def test_another_business_base_is_404(api: ApiClient, bases: dict[str, KnowledgeBase]) -> None:
    response = api.get(f"/knowledge-bases/{bases['theirs'].public_id}")
    assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert "Their secrets" not in str(response.body)


def test_reading_bases_needs_manage_agents(org: Organization, bases: dict[str, KnowledgeBase]) -> None:
    reader = ApiClient(make_key(org, scopes=["read:contacts", "read:calls"]))
    refused = reader.get("/knowledge-bases")
    assert refused.status_code == 403 and refused.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert ApiClient(make_key(org, scopes=["manage:agents"])).get("/knowledge-bases").status_code == 200


def test_bases_are_read_only(api: ApiClient, bases: dict[str, KnowledgeBase]) -> None:
    assert api.post("/knowledge-bases", {"name": "New"}).status_code == 405
    assert api.delete(f"/knowledge-bases/{bases['prices'].public_id}").status_code == 405
    assert KnowledgeBase.objects.count() == 3


def test_a_listed_id_is_what_an_agent_takes(api: ApiClient, bases: dict[str, KnowledgeBase]) -> None:
    listed = api.get("/knowledge-bases").body["data"]
    chosen = next(kb["id"] for kb in listed if kb["name"] == "Prices")
    created = api.post(
        "/agents",
        {
            "agentKey": "pricing",
            "displayName": "Pricing",
            "instructions": "Answer price questions.",
            "knowledgeBaseIds": [chosen],
        },
    )
    assert created.status_code == 201, created.body
    assert created.body["data"]["knowledgeBaseIds"] == [chosen]
    foreign = api.post(
        "/agents",
        {
            "agentKey": "spy",
            "displayName": "Spy",
            "instructions": "Hm.",
            "knowledgeBaseIds": [bases["theirs"].public_id],
        },
    )
    assert foreign.status_code == 400 and "knowledgeBaseIds[0]" in foreign.body["error"]["fields"]


def test_the_agent_form_picker_shows_document_counts(owner_client: Client, bases: dict[str, KnowledgeBase]) -> None:
    page = owner_client.get("/settings/developer/agents/new/").content.decode()
    assert "3 documents · " + bases["prices"].public_id in page
    assert "0 documents · " + bases["empty"].public_id in page
    assert "Their secrets" not in page
