"""events.list / events.get in both SDKs against the live server: typed models, pagination, the ascending stream."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

# aiphone360 is sdks/python/src, put on sys.path by tests/sdks/conftest.py; it is not on mypy's path.
from aiphone360 import AiPhone360, NotFoundError  # type: ignore[import-not-found]
from aiphone360.types import EventWithDeliveries  # type: ignore[import-not-found]
from django.utils import timezone

from tests.conftest import make_key, make_org
from webhooks.events import emit
from webhooks.models import Event
from webhooks.services import endpoint_create

from .conftest import Server

pytestmark = pytest.mark.slow


def _seed(server: Server) -> list[str]:
    """Five settled test events (oldest first) and an endpoint that got a delivery of each."""
    endpoint_create(organization=server.org, url="http://127.0.0.1:9/hook", events=["*"], actor=None)
    Event.objects.filter(organization=server.org).delete()  # the simulator's, to know the whole log
    ids = []
    for i in range(5):
        event = emit(organization=server.org, type="contact.created", data={"n": i}, mode="test")
        Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(seconds=60 - i))
        ids.append(event.public_id)
    emit(organization=server.org, type="contact.created", data={}, mode="live")  # never seen by the test key
    return ids


def test_python_sdk_lists_pages_and_gets_events(server: Server) -> None:
    ids = _seed(server)
    client = AiPhone360(api_key=server.key, base_url=server.url)

    page = client.events.list(limit=2)
    assert [e.id for e in page.data] == ids[:-3:-1] and page.pagination.has_more
    assert [e.id for e in client.events.list(limit=2)] == ids[::-1]  # iterating fetches every page
    assert [e.id for e in client.events.list(after=ids[1], limit=2).data] == ids[2:4]
    assert client.events.list(after=ids[4], wait=0).data == []

    detail = client.events.get(ids[0])
    assert isinstance(detail, EventWithDeliveries)
    assert detail.type == "contact.created" and detail.livemode is False and detail.data["n"] == 0
    assert [d.event_id for d in detail.deliveries] == [ids[0]] and detail.deliveries[0].status in ("pending", "failed")

    other = AiPhone360(api_key=make_key(make_org("Elsewhere"), mode="test"), base_url=server.url)
    with pytest.raises(NotFoundError):
        other.events.get(ids[0])


def test_typescript_sdk_lists_pages_and_gets_events(server: Server, typescript_sdk: Path) -> None:
    ids = _seed(server)
    script = """
const { AiPhone360 } = require("./dist/src/index.js");
(async () => {
  const client = new AiPhone360({ apiKey: process.env.KEY, baseUrl: process.env.BASE });
  const first = await client.events.list({ limit: 2 });
  const all = [];
  for await (const event of client.events.list({ limit: 2 })) all.push(event.id);
  const after = await client.events.list({ after: process.env.AFTER, limit: 2 });
  const detail = await client.events.get(process.env.GET);
  console.log(JSON.stringify({
    first: first.data.map((e) => e.id), hasMore: first.pagination.hasMore, all,
    after: after.data.map((e) => e.id), detail, requestId: detail.requestId,
  }));
})().catch((error) => { console.error(error); process.exit(1); });
"""
    env = {"PATH": os.environ.get("PATH", ""), "KEY": server.key, "BASE": server.url, "AFTER": ids[1], "GET": ids[0]}
    result = subprocess.run(
        ["node", "-e", script], cwd=typescript_sdk, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["first"] == ids[:-3:-1] and out["hasMore"] is True
    assert out["all"] == ids[::-1] and out["after"] == ids[2:4]
    assert out["detail"]["id"] == ids[0] and out["detail"]["data"] == {"n": 0}
    assert [d["eventId"] for d in out["detail"]["deliveries"]] == [ids[0]]
    assert out["requestId"].startswith("req_")
