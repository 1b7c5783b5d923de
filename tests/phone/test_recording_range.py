"""The signed recording URL honours a single `Range`, so a browser's audio player can seek."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from phone import recording_urls, services
from phone.byte_ranges import ByteRange, RangeNotSatisfiable, parse_range
from phone.models import Recording

from .conftest import make_call

AUDIO = bytes(range(256)) * 4  # 1024 bytes, each offset recognisable
SIZE = len(AUDIO)


@pytest.fixture
def recording(org: Organization) -> Recording:
    call = make_call(org)
    return services.call_recording_attach(
        call=call, audio=AUDIO, duration_seconds=1, content_type="audio/mpeg", extension=".mp3"
    )


def _url(recording: Recording, *, expires: int | None = None) -> str:
    expires = expires if expires is not None else int(time.time()) + 3600
    path = reverse("phone:recording-media", args=[recording.public_id])
    return f"{path}?{recording_urls.sign(recording.public_id, expires)}"


def test_without_range_the_whole_file_is_sent_with_accept_ranges(recording: Recording) -> None:
    response = Client().get(_url(recording))

    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Content-Length"] == str(SIZE)
    assert "Content-Range" not in response
    assert response["Content-Disposition"] == f'inline; filename="{recording.call.public_id}.mp3"'
    assert response["Cache-Control"].startswith("private, max-age=")
    assert response.getvalue() == AUDIO


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=1000-5000", 1000, SIZE - 1),  # a last position past the end is clamped
        ("bytes=700-", 700, SIZE - 1),
        ("bytes=-24", SIZE - 24, SIZE - 1),
        ("bytes=-5000", 0, SIZE - 1),  # a suffix longer than the file is the whole file
        ("BYTES=5-9", 5, 9),
    ],
)
def test_a_single_range_is_answered_206_with_exactly_that_slice(
    recording: Recording, header: str, start: int, end: int
) -> None:
    response = Client().get(_url(recording), HTTP_RANGE=header)

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"
    assert response.getvalue() == AUDIO[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_an_unsatisfiable_range_is_a_416_naming_the_size(recording: Recording, header: str) -> None:
    response = Client().get(_url(recording), HTTP_RANGE=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "bytes=0-1, 5-6", "items=0-1", "bytes=9-3", "bytes=-", "bytes=abc-", "garbage"]
)
def test_multiple_or_malformed_ranges_are_ignored_and_the_whole_file_sent(recording: Recording, header: str) -> None:
    response = Client().get(_url(recording), HTTP_RANGE=header)

    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert "Content-Range" not in response
    assert response.getvalue() == AUDIO


def test_if_range_with_a_validator_never_sent_gets_the_whole_file(recording: Recording) -> None:
    response = Client().get(_url(recording), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"some-etag"')

    assert response.status_code == 200
    assert response.getvalue() == AUDIO


@pytest.mark.parametrize("header", ["bytes=0-9", "bytes=5000-"])
def test_an_expired_or_bad_signature_is_refused_even_with_a_range(recording: Recording, header: str) -> None:
    expired = _url(recording, expires=int(time.time()) - 1)
    tampered = _url(recording).replace("signature=", "signature=AAAA")

    for url in (expired, tampered):
        response = Client().get(url, HTTP_RANGE=header)
        assert response.status_code == 404
        assert "Content-Range" not in response and "Accept-Ranges" not in response
        assert b"\x00\x01\x02" not in response.content


def test_head_gives_the_headers_of_get_without_a_body(recording: Recording) -> None:
    whole = Client().head(_url(recording))
    part = Client().head(_url(recording), HTTP_RANGE="bytes=10-19")

    assert whole.status_code == 200
    assert whole["Content-Length"] == str(SIZE) and whole["Accept-Ranges"] == "bytes"
    assert whole.getvalue() == b""
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-19/{SIZE}" and part["Content-Length"] == "10"
    assert part.getvalue() == b""


def test_the_content_type_follows_the_recording_format(org: Organization) -> None:
    wav = services.call_recording_attach(call=make_call(org), audio=b"RIFF0000WAVE", duration_seconds=1)

    response = Client().get(_url(wav), HTTP_RANGE="bytes=0-3")

    assert response["Content-Type"] == "audio/wav"
    assert response.getvalue() == b"RIFF"


def test_parse_range_covers_the_rfc_forms() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=2-4", 10) == ByteRange(2, 4)
    assert parse_range("bytes=2-", 10) == ByteRange(2, 9)
    assert parse_range("bytes=-3", 10) == ByteRange(7, 9)
    assert parse_range("bytes=0-1,3-4", 10) is None
    assert parse_range("bytes=١-٢", 10) is None  # non-ASCII digits are not digits here
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=10-", 10)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-1", 0)
