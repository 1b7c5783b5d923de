from __future__ import annotations

import datetime
import time
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from phone import recording_urls, services
from tests.conftest import ApiClient, make_key

from .conftest import events, make_call

NY = ZoneInfo("America/New_York")


def _ids(response) -> list[str]:
    return [row["id"] for row in response.body["data"]]


def test_calls_list_newest_first_with_call_fields(api: ApiClient, org: Organization) -> None:
    older = make_call(org, started_at=timezone.now() - datetime.timedelta(days=2), name="Jordan Lee")
    newer = make_call(org, started_at=timezone.now() - datetime.timedelta(hours=1), recording=True)

    response = api.get("/calls")

    assert response.status_code == 200
    assert response.body["success"] is True
    assert _ids(response) == [newer.public_id, older.public_id]
    first = response.body["data"][0]
    assert first["id"].startswith("call_")
    assert first["direction"] == "inbound"
    assert first["from"] == "+14155550123" and first["to"] == "+12125550100"
    assert first["status"] == "completed"
    assert first["durationSeconds"] == 120
    assert first["summary"] == "Asked about opening hours."
    assert first["outcome"] == "question_answered"
    assert first["contact"]["phoneNumber"] == "+14155550123"
    assert first["agent"] == {"id": None, "name": "Receptionist"}
    assert first["hasTranscript"] is True and first["hasRecording"] is True
    assert response.body["data"][1]["hasRecording"] is False
    assert response.body["pagination"] == {"nextCursor": None, "hasMore": False, "limit": 25}


def test_calls_pages_follow_the_cursor_without_gaps_or_duplicates(api: ApiClient, org: Organization) -> None:
    base = timezone.now() - datetime.timedelta(days=1)
    # Several calls share a start time: the public id breaks the tie so none is skipped.
    calls = [make_call(org, started_at=base + datetime.timedelta(minutes=i // 2), transcript=False) for i in range(7)]
    expected = [c.public_id for c in sorted(calls, key=lambda c: (c.started_at, c.public_id), reverse=True)]

    seen, cursor = [], None
    while True:
        response = api.get("/calls?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        seen += _ids(response)
        cursor = response.body["pagination"]["nextCursor"]
        if not cursor:
            break
    assert seen == expected


def test_calls_direction_filter(api: ApiClient, org: Organization) -> None:
    inbound = make_call(org, direction="inbound")
    outbound = make_call(org, direction="outbound", caller="+13125550199")

    assert _ids(api.get("/calls?direction=inbound")) == [inbound.public_id]
    assert _ids(api.get("/calls?direction=outbound")) == [outbound.public_id]


@pytest.mark.parametrize("value", ["sideways", "INBOUND", ""])
def test_calls_bad_direction_is_a_validation_error_naming_it(api: ApiClient, value: str) -> None:
    response = api.get(f"/calls?direction={value}")
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert "direction" in response.body["error"]["fields"]


def test_calls_date_range_presets_count_days_in_the_business_time_zone(api: ApiClient, org: Organization) -> None:
    now_local = timezone.now().astimezone(NY)
    today_start = now_local.replace(hour=0, minute=0, second=0, microsecond=0)
    today = make_call(org, started_at=max(today_start, timezone.now() - datetime.timedelta(minutes=30)))
    yesterday_late = make_call(org, started_at=today_start - datetime.timedelta(minutes=5))
    five_days = make_call(org, started_at=today_start - datetime.timedelta(days=4, hours=1))
    forty_days = make_call(org, started_at=today_start - datetime.timedelta(days=40))
    hundred_days = make_call(org, started_at=today_start - datetime.timedelta(days=100))

    assert _ids(api.get("/calls?dateRange=today")) == [today.public_id]
    assert set(_ids(api.get("/calls?dateRange=7d"))) == {today.public_id, yesterday_late.public_id, five_days.public_id}
    assert set(_ids(api.get("/calls?dateRange=30d"))) == {
        today.public_id,
        yesterday_late.public_id,
        five_days.public_id,
    }
    assert forty_days.public_id in _ids(api.get("/calls?dateRange=90d"))
    assert hundred_days.public_id not in _ids(api.get("/calls?dateRange=90d"))


def test_calls_explicit_date_range_is_inclusive_local_days(api: ApiClient, org: Organization) -> None:
    # 2026-03-10 in New York runs from 04:00Z on the 10th to 03:59:59Z on the 11th (EDT starts Mar 8).
    inside_first = make_call(org, started_at=datetime.datetime(2026, 3, 10, 0, 0, tzinfo=NY))
    inside_last = make_call(org, started_at=datetime.datetime(2026, 3, 11, 23, 59, 59, tzinfo=NY))
    before = make_call(org, started_at=datetime.datetime(2026, 3, 9, 23, 59, 59, tzinfo=NY))
    after = make_call(org, started_at=datetime.datetime(2026, 3, 12, 0, 0, tzinfo=NY))

    ids = _ids(api.get("/calls?dateRange=2026-03-10,2026-03-11"))

    assert set(ids) == {inside_first.public_id, inside_last.public_id}
    assert before.public_id not in ids and after.public_id not in ids


def test_calls_date_range_accepts_datetimes_with_and_without_offsets(api: ApiClient, org: Organization) -> None:
    at_noon = make_call(org, started_at=datetime.datetime(2026, 5, 1, 12, 0, tzinfo=NY))
    make_call(org, started_at=datetime.datetime(2026, 5, 1, 15, 0, tzinfo=NY))

    local = api.get("/calls?dateRange=2026-05-01T11:00,2026-05-01T12:00")
    with_offset = api.get("/calls?dateRange=2026-05-01T15:00:00Z,2026-05-01T16:00:00Z")
    encoded_plus = api.get("/calls?dateRange=2026-05-01T11:30:00%2B00:00,2026-05-01T16:00:00%2B00:00")

    assert _ids(local) == [at_noon.public_id]
    assert _ids(with_offset) == [at_noon.public_id]
    assert _ids(encoded_plus) == [at_noon.public_id]


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "7",
        "2026-13-01,2026-12-01",
        "2026-05-02,2026-05-01",
        "2026-05-01",
        "2026-05-01,",
        ",2026-05-01",
        "a,b",
        "1,2,3",
        "",
    ],
)
def test_calls_bad_date_range_is_a_validation_error(api: ApiClient, value: str) -> None:
    response = api.get(f"/calls?dateRange={value}")
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert "dateRange" in response.body["error"]["fields"]


@pytest.mark.parametrize(
    "term", ["+14155550123", "(415) 555-0123", "415.555.0123", "1-415-555-0123", "4155550123", "555-0123"]
)
def test_calls_search_finds_the_caller_number_in_any_format(api: ApiClient, org: Organization, term: str) -> None:
    match = make_call(org, caller="+14155550123")
    make_call(org, caller="+13125550199")

    response = api.get(f"/calls?search={_q(term)}")

    assert _ids(response) == [match.public_id]


def _q(value: str) -> str:
    return quote(value, safe="")


def test_calls_search_matches_contact_name_and_summary_text(api: ApiClient, org: Organization) -> None:
    by_name = make_call(org, caller="+14155550123", name="Priya Patel", summary="Booked a cleaning.")
    by_summary = make_call(org, caller="+13125550199", summary="Asked about Invisalign pricing.")

    assert _ids(api.get("/calls?search=priya")) == [by_name.public_id]
    assert _ids(api.get("/calls?search=INVISALIGN")) == [by_summary.public_id]
    assert _ids(api.get("/calls?search=nobody-matches-this")) == []


def test_calls_text_search_with_a_digit_does_not_match_every_number(api: ApiClient, org: Organization) -> None:
    make_call(org, caller="+14155550123", summary="Routine visit.")
    assert _ids(api.get("/calls?search=room%205")) == []


def test_calls_search_too_long_is_rejected(api: ApiClient) -> None:
    response = api.get("/calls?search=" + "x" * 201)
    assert response.status_code == 400
    assert "search" in response.body["error"]["fields"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "cursor=not-a-cursor"])
def test_calls_bad_paging_is_rejected(api: ApiClient, query: str) -> None:
    response = api.get(f"/calls?{query}")
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"


def test_filters_combine(api: ApiClient, org: Organization) -> None:
    match = make_call(org, caller="+14155550123", summary="Wants whitening.", direction="outbound")
    make_call(org, caller="+14155550123", summary="Wants whitening.", direction="inbound")
    make_call(
        org,
        caller="+14155550123",
        summary="Wants whitening.",
        direction="outbound",
        started_at=timezone.now() - datetime.timedelta(days=20),
    )

    response = api.get("/calls?direction=outbound&dateRange=7d&search=whitening&limit=10")

    assert _ids(response) == [match.public_id]


def test_call_detail_includes_voicemail_and_appointments(api: ApiClient, org: Organization) -> None:
    call = make_call(org, finished=False, transcript=False, name="Jordan Lee")
    services.voicemail_create(call=call, transcription="Please call me back.", duration_seconds=14)
    assert call.contact is not None  # call_start made the caller a contact
    services.appointment_book(
        organization=org,
        contact=call.contact,
        call=call,
        service="Cleaning",
        starts_at=timezone.now() + datetime.timedelta(days=2),
    )
    services.call_complete(
        call=call, ended_at=call.started_at + datetime.timedelta(seconds=30), status="voicemail", outcome="voicemail"
    )

    response = api.get(f"/calls/{call.public_id}")

    assert response.status_code == 200
    data = response.body["data"]
    assert data["id"] == call.public_id and data["status"] == "voicemail"
    assert data["voicemail"]["transcription"] == "Please call me back."
    assert data["voicemail"]["id"].startswith("vm_")
    assert [a["service"] for a in data["appointments"]] == ["Cleaning"]
    assert data["appointments"][0]["contact"]["name"] == "Jordan Lee"


def test_transcript_returns_speaker_attributed_turns_in_order(api: ApiClient, org: Organization) -> None:
    call = make_call(org)

    response = api.get(f"/calls/{call.public_id}/transcript")

    assert response.status_code == 200
    assert response.body["data"] == {
        "callId": call.public_id,
        "turns": [
            {"speaker": "agent", "text": "Thanks for calling! How can I help?", "offsetMs": 400},
            {"speaker": "caller", "text": "Hi, are you open Saturday?", "offsetMs": 2500},
            {"speaker": "agent", "text": "Yes, from 9 to 1.", "offsetMs": 5200},
        ],
    }


def test_transcript_of_a_call_without_one_is_a_clear_404(api: ApiClient, org: Organization) -> None:
    call = make_call(org, transcript=False)
    response = api.get(f"/calls/{call.public_id}/transcript")
    assert response.status_code == 404
    assert response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert "no transcript" in response.body["error"]["message"]


def test_recording_is_a_signed_expiring_url_served_by_the_app(api: ApiClient, org: Organization) -> None:
    call = make_call(org, recording=True)

    response = api.get(f"/calls/{call.public_id}/recording")

    assert response.status_code == 200
    data = response.body["data"]
    assert data["callId"] == call.public_id and data["recordingId"].startswith("rec_")
    assert data["contentType"] == "audio/wav" and data["durationSeconds"] == 3
    url = urlsplit(data["url"])
    assert url.path.startswith("/media/recordings/rec_") and "signature=" in url.query and "expires=" in url.query
    expires_at = datetime.datetime.fromisoformat(data["expiresAt"])
    assert timezone.now() + datetime.timedelta(minutes=59) < expires_at <= timezone.now() + datetime.timedelta(hours=1)

    audio = Client().get(f"{url.path}?{url.query}")  # no API key: the signature is the credential
    assert audio.status_code == 200
    assert audio["Content-Type"] == "audio/wav"
    assert audio.getvalue() == b"RIFF....WAVEfmt fake-audio-bytes"  # a streaming response: joins streaming_content
    assert audio["Cache-Control"].startswith("private")


def test_recording_url_rejects_tampering_other_ids_and_expiry(api: ApiClient, org: Organization) -> None:
    first = make_call(org, recording=True)
    second = make_call(org, recording=True)
    url = urlsplit(api.get(f"/calls/{first.public_id}/recording").body["data"]["url"])
    other_id = second.recording.public_id
    query = dict(part.split("=", 1) for part in url.query.split("&"))
    client = Client()

    assert client.get(f"/media/recordings/{other_id}?{url.query}").status_code == 404
    assert (
        client.get(f"{url.path}?expires={int(query['expires']) + 60}&signature={query['signature']}").status_code == 404
    )
    assert (
        client.get(f"{url.path}?expires={query['expires']}&signature=AAAA{query['signature'][4:]}").status_code == 404
    )
    assert client.get(url.path).status_code == 404

    past = int(time.time()) - 1
    assert client.get(f"{url.path}?{recording_urls.sign(first.recording.public_id, past)}").status_code == 404


def test_recording_of_a_call_without_one_is_a_clear_404(api: ApiClient, org: Organization) -> None:
    call = make_call(org, recording=False)
    response = api.get(f"/calls/{call.public_id}/recording")
    assert response.status_code == 404
    assert response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert "no recording" in response.body["error"]["message"]


@pytest.mark.parametrize("suffix", ["", "/transcript", "/recording"])
def test_another_business_call_is_a_404(api: ApiClient, other_org: Organization, suffix: str) -> None:
    theirs = make_call(other_org, recording=True)
    response = api.get(f"/calls/{theirs.public_id}{suffix}")
    assert response.status_code == 404
    assert response.body["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_calls_list_never_shows_another_business_calls(
    api: ApiClient, org: Organization, other_org: Organization
) -> None:
    mine = make_call(org)
    make_call(other_org)
    assert _ids(api.get("/calls")) == [mine.public_id]


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/calls", "read:calls"),
        ("/calls/{id}", "read:calls"),
        ("/calls/{id}/transcript", "read:transcripts"),
        ("/calls/{id}/recording", "read:recordings"),
    ],
)
def test_call_endpoints_require_their_scope(org: Organization, path: str, scope: str) -> None:
    call = make_call(org, recording=True)
    path = path.format(id=call.public_id)
    others = ["read:calls", "read:transcripts", "read:recordings", "read:contacts", "write:sms"]
    without = ApiClient(make_key(org, scopes=[s for s in others if s != scope]))
    with_only = ApiClient(make_key(org, scopes=[scope]))

    refused = without.get(path)
    assert refused.status_code == 403
    assert refused.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert scope in refused.body["error"]["message"]
    assert with_only.get(path).status_code == 200


def test_call_events_are_emitted_in_order(org: Organization) -> None:
    call = make_call(org, name="Jordan Lee")

    types = [e["type"] for e in events(org)]

    assert types == ["contact.created", "call.started", "transcript.ready", "call.completed"]
    completed = events(org, "call.completed")[0]
    assert completed["data"]["id"] == call.public_id
    assert completed["data"]["summary"] == "Asked about opening hours."
    assert completed["_mode"] == "live"
    assert events(org, "transcript.ready")[0]["data"]["turns"][0]["offsetMs"] == 400


def test_outbound_calls_do_not_emit_call_started(org: Organization) -> None:
    make_call(org, direction="outbound")
    assert [e["type"] for e in events(org)] == ["contact.created", "transcript.ready", "call.completed"]
